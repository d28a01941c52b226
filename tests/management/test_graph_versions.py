"""Graph API versions: v26.0 and v27.0 are accepted end to end, the default is dated, and ``wacloud doctor``
warns six months before the configured version's end."""

from __future__ import annotations

import itertools
import json
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from wacloud import limits
from wacloud.cli import app
from wacloud.gateway._settings import load_settings
from wacloud.graph_versions import GRAPH_VERSIONS, days_left, end_of_life_warning, version_info


@pytest.mark.parametrize("version", ["v26.0", "v27.0", "27", "26.0"])
def test_current_versions_work_against_the_sandbox(box: Any, version: str) -> None:
    client = box.client(version=version)
    assert client.version == f"v{version.removeprefix('v').split('.')[0]}.0"
    assert client.get_business_profile().messaging_product == "whatsapp"
    assert load_settings(api_version=version).api_version == client.version


def test_the_default_version_is_in_the_table_with_its_end_date() -> None:
    info = version_info(limits.DEFAULT_API_VERSION)
    assert info is not None and info.available_until == date(2028, 7, 29)
    assert [v.version for v in GRAPH_VERSIONS[:2]] == ["v27.0", "v26.0"]
    # Newest first, and every dated end is after its release.
    assert all(a.released > b.released for a, b in itertools.pairwise(GRAPH_VERSIONS))
    assert all(v.available_until is None or v.available_until > v.released for v in GRAPH_VERSIONS)


def test_end_of_life_warning_six_months_before() -> None:
    assert end_of_life_warning("v25.0", date(2027, 12, 1)) is None
    warning = end_of_life_warning("v25.0", date(2028, 3, 1))
    assert warning is not None and "2028-07-29" in warning and "v27.0" in warning
    assert "stopped" in (end_of_life_warning("v21.0", date(2027, 2, 1)) or "")
    assert end_of_life_warning("v27.0", date(2030, 1, 1)) is None  # undated: no guess
    assert days_left("v99.0", date(2026, 1, 1)) is None and version_info("latest") is None


def _checks(output: str) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["state"], c["detail"]) for c in json.loads(output)["checks"]}


def test_doctor_warns_when_the_version_ends_within_six_months(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    for name in list(__import__("os").environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)
    # v21.0 ends 2027-01-21: within six months of the test's dates (or past), so always a warning.
    old = runner.invoke(app, ["doctor", "--gateway", "http://127.0.0.1:9", "--json"],
                        env={"WACLOUD_API_VERSION": "v21.0"}, catch_exceptions=False)
    state, detail = _checks(old.stdout)["api version"]
    assert state == "warn" and "2027-01-21" in detail and "WACLOUD_API_VERSION" in detail
    new = runner.invoke(app, ["doctor", "--gateway", "http://127.0.0.1:9", "--json"],
                        env={"WACLOUD_API_VERSION": "v27.0"}, catch_exceptions=False)
    state, detail = _checks(new.stdout)["api version"]
    assert state == "ok" and "v27.0" in detail
