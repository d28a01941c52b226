"""Media: upload, URL, download (in memory or streamed to a file, sha256 checked), delete."""

from __future__ import annotations

from wacloud.client.core import ApiConfig


class MediaApi(ApiConfig):
    """Media: upload, URL, download (in memory or streamed to a file, sha256 checked), delete."""
