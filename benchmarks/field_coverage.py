"""Field coverage: of the webhook fields Meta documents, how many each parser turns into a typed update.

    python -m benchmarks.field_coverage [--json PATH]

Every example of the field inventory (tests/webhooks/field_inventory.py: each documented ``field``, every
message type, status kinds, call and group events) goes through ``wacloud.webhooks.parse`` and through pywa's
per-webhook path (the same one benchmarks/parse.py times). An example counts as typed when the parser
produced an update of a type it has for that content (ours: anything but ``RawUpdate``; pywa: any update at
all, since it drops what it has no type for). A field counts as typed when all its examples are.
Counts, not timings: the figure is the same on any machine.
"""

from __future__ import annotations

import copy
import json
import logging
import warnings
from collections import defaultdict
from typing import Any

from tests.webhooks.field_inventory import CASES, DOCUMENTED_FIELDS

from benchmarks import corpus
from benchmarks._harness import base_parser, report
from benchmarks.parse import ours_is_typed, ours_parser, pywa_parser


def _for_the_bench_account(body: dict[str, Any]) -> bytes:
    """The example addressed to the account and number pywa is set up with (it drops other accounts' updates),
    its contacts with a BSUID as Meta sends them now."""
    body = copy.deepcopy(body)
    for entry in body["entry"]:
        entry["id"] = corpus.WABA_ID
        for change in entry["changes"]:
            meta = change["value"].get("metadata") if isinstance(change.get("value"), dict) else None
            if isinstance(meta, dict):
                meta["phone_number_id"] = corpus.PHONE_NUMBER_ID
            value = change["value"]
            items = value.get("statuses") or value.get("calls") or value.get("message_echoes") or []
            if "contacts" not in value and items:
                # BSUID-era statuses, calls and echoes name their user in ``contacts`` too (pywa 4.5 requires it).
                item = items[0]
                outgoing = item.get("direction") == "BUSINESS_INITIATED" or "message_echoes" in value
                user = item.get("recipient_id") or (item.get("to") if outgoing else item.get("from"))
                value["contacts"] = [{"wa_id": user}]
            # Since April 2026 every contact carries a BSUID, and pywa 4.5 requires one: give it one.
            for i, contact in enumerate(value.get("contacts") or []):
                if isinstance(contact, dict):
                    contact.setdefault("user_id", f"US.{1349120865530274190 + i}")
    return json.dumps(body).encode()


def _typed(parse: Any, typed: Any, body: bytes) -> bool:
    try:
        out = parse(body)
    except Exception:  # a crash counts as not typed here, it is a figure
        return False
    return bool(out) and all(typed(u) for u in out)


def main() -> None:
    """Print, per field, whether each side types every example; then the one-line summary."""
    parser = base_parser(__doc__ or "")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    sides = {"ours": (ours_parser(), ours_is_typed), "pywa": (pywa_parser(), lambda u: True)}
    per_field: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"ours": [], "pywa": []})
    per_case: dict[str, dict[str, bool]] = {}
    for case in CASES:
        body = _for_the_bench_account(case.body)
        per_case[case.id] = {}
        for name, (parse, typed) in sides.items():
            ok = _typed(parse, typed, body)
            per_field[case.field][name].append(ok)
            per_case[case.id][name] = ok
    fields = {f: {name: all(v) for name, v in sides_ok.items()} for f, sides_ok in sorted(per_field.items())}
    for f, sides_ok in sorted(per_field.items()):
        shown = "  ".join(f"{name}={sum(v)}/{len(v)}" for name, v in sides_ok.items())
        print(f"{f:40s} {shown}")
    totals = {name: sum(ok[name] for ok in fields.values()) for name in sides}
    cases = {name: sum(ok[name] for ok in per_case.values()) for name in sides}
    figures = {"documented_fields": len(DOCUMENTED_FIELDS), "examples": len(CASES), "fields": fields,
               "examples_typed": cases, "fields_typed": totals}
    summary = (f"documented fields with every example typed: ours {totals['ours']}/{len(DOCUMENTED_FIELDS)}, "
               f"pywa {totals['pywa']}/{len(DOCUMENTED_FIELDS)}; examples typed: ours {cases['ours']}/{len(CASES)}, "
               f"pywa {cases['pywa']}/{len(CASES)}")
    report("field_coverage", figures, summary, args.json)


if __name__ == "__main__":
    main()
