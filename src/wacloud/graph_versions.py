"""Graph API versions: when each was released and until when Meta serves it.

The one dated table of versions. ``wacloud doctor`` warns when the configured version is within
:data:`WARN_BEFORE_END_DAYS` of its end, and ``DEFAULT_API_VERSION`` (in :mod:`wacloud.limits`) must
appear here with a known end date (a test checks it).

Source: Meta's Graph API changelog, "Available Graph API versions" table (all locales agree), as read in
December 2026. ``None`` as the end date means Meta lists it as "TBD": Meta only dates a version's end
once the next-but-one version is out, so the newest two are normally undated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final


@dataclass(frozen=True, slots=True)
class GraphVersion:
    """One Graph API version: ``released`` and ``available_until`` (None while Meta says "TBD")."""

    version: str
    released: date
    available_until: date | None


#: Newest first. Dates are Meta's, except where a comment says otherwise.
GRAPH_VERSIONS: Final[tuple[GraphVersion, ...]] = (
    # v27.0: release date from the 2026 facts gathered for this project (Meta's changelog pages in the
    # reference corpus still showed v26.0 as latest); end date not yet published by Meta.
    GraphVersion("v27.0", date(2026, 11, 4), None),
    # v26.0: Meta lists its end as "TBD" (it will be dated two years after v27.0's release, by the
    # pattern of earlier versions, but Meta has not confirmed it).
    GraphVersion("v26.0", date(2026, 7, 29), None),
    GraphVersion("v25.0", date(2026, 2, 18), date(2028, 7, 29)),
    GraphVersion("v24.0", date(2025, 10, 8), date(2028, 2, 18)),
    GraphVersion("v23.0", date(2025, 5, 29), date(2027, 10, 8)),
    GraphVersion("v22.0", date(2025, 1, 21), date(2027, 5, 20)),
    GraphVersion("v21.0", date(2024, 10, 2), date(2027, 1, 21)),
    GraphVersion("v20.0", date(2024, 5, 21), date(2026, 9, 24)),
    GraphVersion("v19.0", date(2024, 1, 23), date(2026, 5, 21)),
)

#: ``wacloud doctor`` warns this many days (about six months) before a version's end.
WARN_BEFORE_END_DAYS: Final = 183

_BY_NAME: Final[dict[str, GraphVersion]] = {v.version: v for v in GRAPH_VERSIONS}


def version_info(version: str) -> GraphVersion | None:
    """The table row of ``version`` ("v25.0", "25", "25.0"…), or None for a version not in the table."""
    text = version.strip().lower().removeprefix("v")
    major, _, minor = text.partition(".")
    if not (major.isdigit() and (minor or "0").isdigit()):
        return None
    return _BY_NAME.get(f"v{int(major)}.{int(minor or '0')}")


def days_left(version: str, today: date) -> int | None:
    """Days from ``today`` until ``version`` stops being served (negative once past); None when undated."""
    info = version_info(version)
    if info is None or info.available_until is None:
        return None
    return (info.available_until - today).days


def end_of_life_warning(version: str, today: date) -> str | None:
    """A sentence to show when ``version`` ends within six months (or has ended), else None."""
    info = version_info(version)
    left = days_left(version, today)
    if info is None or left is None or left > WARN_BEFORE_END_DAYS:
        return None
    newest = GRAPH_VERSIONS[0].version
    if left < 0:
        return f"{info.version} stopped being served on {info.available_until}; move to {newest}"
    return f"{info.version} stops being served on {info.available_until} ({left} days); plan the move to {newest}"
