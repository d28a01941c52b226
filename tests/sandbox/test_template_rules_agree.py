"""Hypothesis: on randomly broken template definitions, the sandbox's creation rules and the client's
pre-check agree: both accept, or both refuse with the same code and subcode (in process, for speed; the
HTTP route is covered by test_template_create_rules.py)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sandbox.test_template_create_rules import GOOD
from wacloud.sandbox import SandboxConfig
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._state import SandboxState
from wacloud.sandbox._templates import make_template
from wacloud.templates import TemplateDefinitionError, check_definition

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 100),
    st.sampled_from(
        [
            "",
            "x" * 26,
            "x" * 61,
            "{{1}}",
            "Hi {{1}} there",
            "Hi {{2}} there",
            "Hi {{name}} there",
            "english",
            "en_US",
            "de",
            "TEXT",
            "IMAGE",
            "VIDEO",
            "URL",
            "OTP",
            "PHONE_NUMBER",
            "QUICK_REPLY",
            "COPY_CODE",
            "https://e.com/{{1}}",
            "https://e.com",
            "NAMED",
            "UTILITY",
            "AUTHENTICATION",
        ]
    ),
    st.just([]),
    st.just([["a"]]),
    st.just({}),
    st.just({"type": "URL", "text": "Go", "url": "https://e.com"}),
    st.just({"type": "PHONE_NUMBER", "text": "Call", "phone_number": "15550001111"}),
)
STATE = SandboxState(SandboxConfig(template_review_s=None))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _outcome_sandbox(body: dict[str, Any]) -> tuple[int, int | None] | None:
    STATE.templates.clear()
    try:
        make_template(STATE, body, strict=True)
    except GraphError as err:
        return err.code, err.subcode
    return None


def _outcome_precheck(body: dict[str, Any]) -> tuple[int, int | None] | None:
    try:
        check_definition(body)
    except TemplateDefinitionError as err:
        return err.code, err.subcode
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_sandbox_and_precheck_agree_on_mutated_definitions(data: st.DataObject) -> None:
    body = copy.deepcopy(GOOD[data.draw(st.sampled_from(sorted(GOOD)))]())
    for _ in range(data.draw(st.integers(1, 2))):
        path = data.draw(st.sampled_from(_paths(body)))
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(data.draw(_VALUES))  # `just` values are shared objects
    outcome = _outcome_sandbox(body)
    event(f"outcome {outcome}")
    assert outcome == _outcome_precheck(body), body
