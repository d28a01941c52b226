"""Parse floor: how much of our parse is pydantic's own work, and what ratio to pywa that leaves.

    python -m benchmarks.parse_floor [--n 10000] [--rounds 7]

Our typed updates are pydantic models (a public contract), so building them has a cost no Python around
them can remove. On the ``messages``-field bodies of the corpus (every message type, status and
value-level error: 29 of its 36 kinds), this times, interleaved and best of ``--rounds`` in CPU time:

- ``decode``: the JSON decode alone (``wacloud.webhooks.parsing.loads``);
- ``pydantic``: the decode plus pydantic's work on the located parts -- the one-pass validation of the
  change value into the public models and one update wrapper per item (filled as the parser fills
  them) -- with none of the parser's Python around it (no envelope checks, contact matching, entry time);
- ``nocount``: the same without the bracket count ``loads`` makes before msgspec decodes (the count
  keeps bodies nested over 200 levels refused, so this side only prices it);
- ``parse``: the full ``wacloud.webhooks.parse``;
- ``pywa``: pywa's parse path, as in ``benchmarks/parse.py``.

``pywa / pydantic`` is the best ratio to pywa a parser on these models could reach with zero overhead.
"""

from __future__ import annotations

import gc
import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

from benchmarks import corpus
from benchmarks._harness import base_parser, fmt, report
from benchmarks.parse import ours_parser, pywa_parser


def pydantic_part(*, count: bool = True) -> Callable[[bytes], Any]:
    """Decode + one-pass validation + the update wrappers, for a one-change ``messages`` body."""
    import wacloud.webhooks._fastpath as fast
    import wacloud.webhooks.updates as u
    from wacloud.webhooks import parsing
    from wacloud.webhooks._fill import filler

    loads = parsing.loads if count else parsing._decode

    where = ("field", "raw")
    make = {"messages": filler(u.MessageUpdate, *where, "message", "metadata"),
            "statuses": filler(u.StatusUpdate, *where, "status", "metadata"),
            "errors": filler(u.ErrorUpdate, *where, "error", "metadata")}

    def run(body: bytes) -> Any:
        value = loads(body)["entry"][0]["changes"][0]["value"]
        typed = fast.messages_value(value)
        assert typed is not None, "every corpus messages body validates whole"
        out = []
        for key, fill in make.items():
            for raw, item in zip(value.get(key) or (), typed.get(key) or (), strict=True):  # type: ignore[attr-defined]
                out.append(fill("messages", raw, item, typed.get("metadata")))
        return out

    return run


def main() -> None:
    """Time the four sides and print the floor ratio."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=10_000, help="bodies drawn from the corpus (messages ones kept)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    from wacloud.webhooks.parsing import loads

    bodies = [b for b in corpus.bodies(args.n, mix="uniform", seed=7)
              if loads(b)["entry"][0]["changes"][0]["field"] == "messages"]
    sides: dict[str, Callable[[bytes], Any]] = {
        "decode": loads, "pydantic": pydantic_part(), "nocount": pydantic_part(count=False),
        "parse": ours_parser(), "pywa": pywa_parser(),
    }
    best: dict[str, float] = {}
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    try:
        for _ in range(args.rounds):
            for name, fn in sides.items():
                gc.collect()
                t0 = time.process_time()
                for b in bodies:
                    fn(b)
                best[name] = min(best.get(name, float("inf")), time.process_time() - t0)
    finally:
        logging.disable(logging.NOTSET)
    us = {name: t / len(bodies) * 1e6 for name, t in best.items()}
    for name, v in us.items():
        print(f"{name:9} {v:6.2f} µs/body")
    figures = {"bodies": len(bodies), "us_per_body": us, "ratio_pywa_over_parse": us["pywa"] / us["parse"],
               "ratio_pywa_over_pydantic": us["pywa"] / us["pydantic"],
               "ratio_pywa_over_nocount": us["pywa"] / us["nocount"]}
    summary = (f"messages bodies: parse {fmt(us['parse'])} µs, of which decode + pydantic {fmt(us['pydantic'])} µs; "
               f"pywa {fmt(us['pywa'])} µs; ratio pywa/parse {fmt(figures['ratio_pywa_over_parse'])}x, "
               f"pywa/pydantic-only {fmt(figures['ratio_pywa_over_pydantic'])}x, "
               f"without the bracket count {fmt(figures['ratio_pywa_over_nocount'])}x")
    report("parse_floor", figures, summary, args.json)


if __name__ == "__main__":
    main()
