"""Shared fixtures: where Meta's spec files are (skipping when they are absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["wacloud.sandbox.testing"]

_SPEC = Path(os.environ.get("WACLOUD_SPEC_DIR", Path(__file__).resolve().parents[2] / "shared" / "spec"))


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    """``../shared/spec`` beside the checkout; tests needing it skip when it is not there."""
    if not _SPEC.is_dir():
        pytest.skip(f"Meta's spec files are not at {_SPEC} (../shared/ sits beside the checkout only in CI "
                    "and on developers' machines); set WACLOUD_SPEC_DIR to run these tests")
    return _SPEC


@pytest.fixture(scope="session")
def openapi_spec(spec_dir: Path) -> dict[str, object]:
    """Meta's OpenAPI document, loaded once."""
    import yaml

    path = spec_dir / "openapi" / "business-messaging-api_v23.0.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with path.open(encoding="utf-8") as f:
        data: dict[str, object] = yaml.safe_load(f)
    return data
