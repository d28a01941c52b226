"""Parse benchmark: raw webhook bytes -> typed updates, ours (``wacloud.webhooks.parse``) vs pywa's.

    python -m benchmarks.parse [--n 20000] [--rounds 5] [--mix uniform|realistic] [--baseline FILE]

Both sides get the same bodies (benchmarks/corpus.py: every message, status and management kind, one
update per body) and do the full job from bytes: JSON decode, find the update's kind, build the typed
object. pywa's path is the one its server runs per webhook (``RawUpdate`` -> ``_get_handler_type`` ->
``<UpdateType>.from_update``) minus the handler dispatch. Logging is disabled on both sides while timing.
Time is this process's CPU time (``time.process_time``), so the figures are updates per CPU-second --
what one dedicated core does -- and other work on the machine barely moves them; they are the best of
``--rounds`` passes.

``--baseline FILE`` adds a third side, interleaved with the other two: another version of
``wacloud/webhooks/parsing.py`` (e.g. ``git show <rev>:src/wacloud/webhooks/parsing.py > old/parsing.py``)
loaded against today's models, so a before/after of the parser is measured in one process, under the same
load; a ``_fastpath.py`` in the same folder (``git show <rev>:src/wacloud/webhooks/_fastpath.py >
old/_fastpath.py``) is loaded with it as that parser's fast path.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import corpus
from benchmarks._harness import base_parser, fmt, report


def ours_parser() -> Callable[[bytes], list[Any]]:
    """``wacloud.webhooks.parse``."""
    from benchmarks import _ours

    return _ours.webhook_parse()


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves a module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def baseline_parser(path: Path) -> Callable[[bytes], list[Any]]:
    """``parse`` of another version of the parser module, loaded from ``path`` next to today's models.

    When a ``_fastpath.py`` sits next to ``path``, the old parser gets that version of the fast path
    (its one-pass schema) instead of today's, so the before/after covers both modules.
    """
    fastpath = path.parent / "_fastpath.py"
    if not fastpath.is_file():
        return _load("wacloud.webhooks._baseline_parsing", path).parse  # type: ignore[no-any-return]
    import wacloud.webhooks as package

    today = sys.modules["wacloud.webhooks._fastpath"]
    old = _load("wacloud.webhooks._baseline_fastpath", fastpath)
    # The old parsing.py imports ``wacloud.webhooks._fastpath``: give it the old one while it loads.
    sys.modules["wacloud.webhooks._fastpath"] = old
    package._fastpath = old  # type: ignore[attr-defined]
    try:
        return _load("wacloud.webhooks._baseline_parsing", path).parse  # type: ignore[no-any-return]
    finally:
        sys.modules["wacloud.webhooks._fastpath"] = today
        package._fastpath = today  # type: ignore[attr-defined]


def ours_is_typed(update: Any) -> bool:
    """True unless the update came back as a ``RawUpdate`` (not recognised)."""
    return type(update).__name__ != "RawUpdate"


def pywa_parser() -> Callable[[bytes], list[Any]]:
    """pywa's per-webhook parse path, returning the typed update (or nothing when it has no type for it)."""
    import httpx
    from pywa import WhatsApp
    from pywa._logging import get_update_hash
    from pywa.types.base_update import RawUpdate

    wa = WhatsApp(
        phone_id=corpus.PHONE_NUMBER_ID, token="bench", waba_id=corpus.WABA_ID, session=httpx.Client()
    )
    to_update = wa._handlers_to_updates

    def parse(body: bytes) -> list[Any]:
        raw = RawUpdate(body, hmac_header=None, update_hash=get_update_hash(body))
        try:
            handler = wa._get_handler_type(raw)
            if handler is None:
                return []
            return [to_update[handler].from_update(client=wa, update=raw)]
        except (KeyError, ValueError, TypeError, IndexError):
            # pywa's server catches these too (and logs "unexpected update"); count it as not typed.
            return []

    return parse


def time_parser(
    parse: Callable[[bytes], list[Any]], bodies: list[bytes], rounds: int, typed: Callable[[Any], bool]
) -> dict[str, float]:
    """Best-of-``rounds`` CPU time for parsing every body; updates produced and how many were typed.

    Each body's updates are dropped before the next body is parsed, as a receiver does: keeping all of
    them alive would make the timing mostly the garbage collector walking a growing heap.
    """
    best = float("inf")
    updates = typed_n = 0
    for _ in range(rounds):
        gc.collect()
        t0 = time.process_time()
        for b in bodies:
            parse(b)
        elapsed = time.process_time() - t0
        best = min(best, elapsed)
    for b in bodies:  # untimed: what came out
        out = parse(b)
        updates += len(out)
        typed_n += sum(1 for u in out if typed(u))
    return {
        "seconds": best,
        "updates": updates,
        "typed": typed_n,
        "updates_per_s": updates / best,
        "bodies_per_s": len(bodies) / best,
        "us_per_body": best / len(bodies) * 1e6,
    }


def coverage(
    parse: Callable[[bytes], list[Any]], typed: Callable[[Any], bool], *, bsuid: bool = True
) -> dict[str, str]:
    """For one body of each corpus kind: the type name each side produced (or '-' when none)."""
    result = {}
    for kind, body in corpus.kind_sample(seed=99, bsuid=bsuid).items():
        try:
            out = parse(body)
        except Exception as exc:  # a crash is a figure here, not a benchmark failure
            result[kind] = f"raised {type(exc).__name__}"
            continue
        result[kind] = ",".join(type(u).__name__ + ("" if typed(u) else "(raw)") for u in out) or "-"
    return result


def per_kind(sides: dict[str, tuple[Callable[[bytes], list[Any]], Callable[[Any], bool]]], n: int,
             rounds: int) -> dict[str, dict[str, float]]:
    """µs per body of each side for each corpus kind alone (``n`` bodies of the kind, best of ``rounds``)."""
    figures: dict[str, dict[str, float]] = {}
    for kind in corpus.KINDS:
        bodies = corpus.bodies(n, kinds=[kind], seed=7)
        best = dict.fromkeys(sides, float("inf"))
        for _ in range(rounds):
            for name, (parse, _typed) in sides.items():
                t0 = time.process_time()
                for b in bodies:
                    parse(b)
                best[name] = min(best[name], time.process_time() - t0)
        figures[kind] = {name: t / n * 1e6 for name, t in best.items()}
    return figures


def main() -> None:
    """Run the parse benchmark and print figures, then the one-line summary."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=20_000, help="bodies in the corpus")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mix", choices=sorted(corpus.MIXES), default="uniform")
    parser.add_argument("--baseline", type=Path, default=None, help="another parsing.py, timed as a third side")
    parser.add_argument("--per-kind", type=int, default=0, metavar="N",
                        help="also time N bodies of each kind alone and print µs per body by kind")
    args = parser.parse_args()

    bodies = corpus.bodies(args.n, mix=args.mix, seed=7)
    batch, batch_updates = corpus.batch_body(10, 5)
    sides: dict[str, tuple[Callable[[bytes], list[Any]], Callable[[Any], bool]]] = {}
    missing: dict[str, str] = {}
    try:
        sides["ours"] = (ours_parser(), ours_is_typed)
    except ImportError as exc:
        missing["ours"] = f"wacloud.webhooks.parse not importable: {exc}"
    if args.baseline is not None:
        sides["base"] = (baseline_parser(args.baseline), ours_is_typed)
    sides["pywa"] = (pywa_parser(), lambda u: True)

    figures: dict[str, Any] = {
        "n_bodies": len(bodies),
        "mix": args.mix,
        "rounds": args.rounds,
        "bytes_total": sum(map(len, bodies)),
        "missing": missing,
    }
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    try:
        # Rounds interleave the sides, so a slow moment of the machine hits both alike; best round kept.
        for _ in range(args.rounds):
            for name, (parse, typed) in sides.items():
                run = time_parser(parse, bodies, 1, typed)
                if name not in figures or run["seconds"] < figures[name]["seconds"]:
                    figures[name] = run
        if args.per_kind:
            figures["per_kind_us"] = per_kind(sides, args.per_kind, args.rounds)
        for name, (parse, typed) in sides.items():
            figures[name]["coverage"] = coverage(parse, typed)
            classic = coverage(parse, typed, bsuid=False)
            figures[name]["typed_kinds"] = sum(
                1
                for v in figures[name]["coverage"].values()
                if v != "-" and "(raw)" not in v and "raised" not in v
            )
            figures[name]["typed_kinds_without_user_id"] = sum(
                1 for v in classic.values() if v != "-" and "(raw)" not in v and "raised" not in v
            )
            figures[name]["batch_updates_of_" + str(batch_updates)] = len(parse(batch))
    finally:
        logging.disable(logging.NOTSET)

    for name in sides:
        f = figures[name]
        print(
            f"{name:5} {f['updates_per_s']:>12,.0f} updates/s  {f['us_per_body']:7.1f} µs/body  "
            f"typed {f['typed']}/{f['updates']}  batch({batch_updates} updates in one body) -> "
            f"{f['batch_updates_of_' + str(batch_updates)]}"
        )
    for name in sides:
        f = figures[name]
        print(
            f"{name:5} typed kinds: {f['typed_kinds']}/{len(corpus.KINDS)} with BSUID-era contacts, "
            f"{f['typed_kinds_without_user_id']}/{len(corpus.KINDS)} without `user_id` (facts-file shape)"
        )
    if args.per_kind:
        print(f"µs per body by kind ({args.per_kind} bodies of the kind alone, best of {args.rounds}):")
        for kind, row in figures["per_kind_us"].items():
            print(f"  {kind:18} " + "  ".join(f"{name}={us:6.2f}" for name, us in row.items()))
    print("kind coverage (one body of each kind):")
    for kind in corpus.KINDS:
        row = "  ".join(f"{n}={figures[n]['coverage'][kind]}" for n in sides)
        print(f"  {kind:18} {row}")
    if "ours" in sides:
        ratio = figures["ours"]["updates_per_s"] / figures["pywa"]["updates_per_s"]
        figures["ratio_ours_over_pywa"] = ratio
        summary = (
            f"ours {fmt(figures['ours']['updates_per_s'], 0)} updates/s, pywa "
            f"{fmt(figures['pywa']['updates_per_s'], 0)} updates/s, ratio ours/pywa {fmt(ratio)}x "
            f"({args.n} bodies, {args.mix} mix)"
        )
        if "base" in sides:
            base = figures["base"]["updates_per_s"] / figures["pywa"]["updates_per_s"]
            figures["ratio_base_over_pywa"] = base
            summary += f"; baseline {args.baseline} {fmt(base)}x pywa, ours/baseline {fmt(ratio / base)}x"
    else:
        summary = (
            f"ours NOT RUN ({missing['ours']}); pywa {fmt(figures['pywa']['updates_per_s'], 0)} updates/s"
        )
    report("parse", figures, summary, args.json)


if __name__ == "__main__":
    main()
