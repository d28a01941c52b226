"""The console's templates pages."""

from __future__ import annotations

from fastapi import APIRouter

from wacloud.gateway.console._render import PREFIX

router = APIRouter(prefix=PREFIX, include_in_schema=False)
