"""docs/events.md documents every event type: a section naming it, with an example payload that parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from wacloud.events import EVENT_TYPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def _sections() -> dict[str, str]:
    """The ``### `type`…`` sections of "Event types", by each type their heading names."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Event types")
    part = text[start:text.index("\n## ", start + 1)]
    out: dict[str, str] = {}
    for block in re.split(r"\n(?=### )", part)[1:]:
        heading = block.splitlines()[0]
        for name in re.findall(r"`([a-z_.]+)`", heading):
            out[name] = block
    return out


def test_every_event_type_has_a_section_with_an_example_payload() -> None:
    sections = _sections()
    missing = sorted(set(EVENT_TYPES) - set(sections))
    assert not missing, f"docs/events.md has no section for {missing}"
    assert not set(sections) - set(EVENT_TYPES), "a section documents a type that is not in EVENT_TYPES"
    for name in EVENT_TYPES:
        examples = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", sections[name], re.S)]
        own = [e for e in examples if e.get("type") == name]
        assert own, f"the section of {name} has no example payload of that type"
        for example in own:
            assert isinstance(example.get("data"), dict) and example["data"], f"{name}: the example has no data"
