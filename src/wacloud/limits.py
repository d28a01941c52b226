"""The one table of Cloud API limits.

Every documented size, count and rate that wacloud enforces lives here, so the client (which checks
before sending), the sandbox (which answers like Meta) and the delivery engine (which paces) agree.
Each entry names its source tag from the facts file: OFF (Meta's docs), SPEC (Meta's OpenAPI spec),
SEC (SDKs / BSP docs) or UNCONFIRMED.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class Limit:
    """A bound on one field: ``min``/``max`` characters (strings) or items (lists)."""

    field: str
    max: int
    min: int = 0
    unit: str = "characters"
    source: str = "SPEC"


def _limits(*items: Limit) -> dict[str, Limit]:
    return {item.field: item for item in items}


#: Keyed by a dotted path close to the Graph API body ("interactive.header.text").
LIMITS: Final[dict[str, Limit]] = _limits(
    Limit("text.body", 4096, min=1, source="OFF"),
    Limit("caption", 1024, source="SPEC"),
    Limit("document.filename", 240, source="UNCONFIRMED"),
    Limit("biz_opaque_callback_data", 512, source="UNCONFIRMED"),
    Limit("to.digits", 15, min=5, unit="digits", source="UNCONFIRMED"),
    Limit("interactive.header.text", 60),
    Limit("interactive.body.text", 1024, min=1),
    Limit("interactive.footer.text", 60),
    Limit("interactive.button.buttons", 3, min=1, unit="buttons", source="OFF"),
    Limit("interactive.button.title", 20, min=1),
    Limit("interactive.button.id", 256, min=1),
    Limit("interactive.list.button", 20, min=1),
    Limit("interactive.list.sections", 10, min=1, unit="sections"),
    Limit("interactive.list.rows_total", 10, min=1, unit="rows", source="OFF"),
    Limit("interactive.list.section.title", 24),
    Limit("interactive.list.row.id", 200, min=1),
    Limit("interactive.list.row.title", 24, min=1),
    Limit("interactive.list.row.description", 72),
    Limit("interactive.cta_url.display_text", 20, min=1, source="OFF"),
    Limit("interactive.flow.flow_cta", 30, min=1, source="SPEC"),
    Limit("interactive.product_list.sections", 10, min=1, unit="sections"),
    Limit("interactive.product_list.items_total", 30, min=1, unit="products"),
    Limit("contacts", 5, min=1, unit="contacts"),
    Limit("location.latitude", 90, min=-90, unit="degrees", source="OFF"),
    Limit("location.longitude", 180, min=-180, unit="degrees", source="OFF"),
    Limit("template.carousel.cards", 10, min=1, unit="cards", source="SEC"),
    Limit("template.name", 512, min=1, source="OFF"),
    Limit("template.parameter.text", 32768, source="SPEC"),
    Limit("template.button.index", 9, unit="index", source="SPEC"),
    Limit("template.body.text", 1024, min=1, source="OFF"),
    Limit("template.header.text", 60, source="OFF"),
    Limit("template.footer.text", 60, source="OFF"),
    Limit("template.buttons", 10, unit="buttons", source="OFF"),
    Limit("template.per_waba", 250, unit="templates", source="OFF"),
    Limit("qr.prefilled_message", 140, min=1, source="OFF"),
    Limit("block_users.per_request", 1000, min=1, unit="users", source="OFF"),
    Limit("block_users.total", 64000, unit="users", source="OFF"),
    Limit("qr.per_number", 2000, unit="codes", source="OFF"),
    Limit("profile.about", 139, min=1, source="OFF"),
    Limit("profile.address", 256, source="OFF"),
    Limit("profile.description", 512, source="OFF"),
    Limit("profile.email", 128, source="OFF"),
    Limit("profile.websites", 2, unit="websites", source="OFF"),
    Limit("profile.website", 256, source="OFF"),
    # Template definitions (creation) [OFF template-management / components pages].
    Limit("template.button.text", 25, min=1, source="OFF"),
    Limit("template.button.url", 2000, min=1, source="OFF"),
    Limit("template.button.phone_number", 20, min=1, source="OFF"),
    Limit("template.buttons.url", 2, unit="buttons", source="OFF"),
    Limit("template.buttons.phone_number", 1, unit="buttons", source="OFF"),
    Limit("template.buttons.copy_code", 1, unit="buttons", source="OFF"),
    Limit("template.buttons.flow", 1, unit="buttons", source="OFF"),
    Limit("template.copy_code.example", 15, min=1, source="OFF"),
    Limit("template.header.variables", 1, unit="variables", source="OFF"),
    Limit("template.create.carousel.cards", 10, min=2, unit="cards", source="OFF"),
    Limit("template.carousel.card.body.text", 160, min=1, source="OFF"),
    Limit("template.carousel.card.buttons", 2, min=1, unit="buttons", source="OFF"),
    Limit("template.limited_time_offer.text", 16, min=1, source="OFF"),
    Limit("template.otp.code_expiration_minutes", 90, min=1, unit="minutes", source="OFF"),
    # Time-to-live of a marketing template sent through the Marketing Messages API (12 hours to 30 days).
    Limit("template.marketing_ttl_seconds", 30 * 24 * 3600, min=12 * 3600, unit="seconds", source="OFF"),
    Limit("template.delete.hsm_ids", 100, min=1, unit="templates", source="OFF"),
    Limit("flow.name", 200, min=1, source="UNCONFIRMED"),
    # Groups API [OFF groups overview; SPEC create/update group, participants].
    Limit("group.participants", 8, unit="participants", source="OFF"),
    Limit("group.per_number", 10000, unit="groups", source="OFF"),
    Limit("group.subject", 128, min=1, source="SPEC"),
    Limit("group.description", 2048, source="SPEC"),
    Limit("group.participants.per_request", 8, min=1, unit="participants", source="SPEC"),
    Limit("group.list.limit", 1024, min=1, unit="groups", source="SPEC"),
    # Calling API [SPEC calls].
    Limit("call.biz_opaque_callback_data", 512, source="SPEC"),
    # Business identity. Usernames: 3-35 characters [SEC BSP username guides citing Meta]; a display name
    # change request's ``new_display_name``: 2-75 [SPEC phone number update].
    Limit("username", 35, min=3, source="SEC"),
    Limit("phone.new_display_name", 75, min=2, source="SPEC"),
    # Conversational components [OFF conversational-components: 4 ice breakers of 80 characters, 30
    # commands, names 32 and descriptions 256 characters]. Meta's v23 OpenAPI spec says 3 prompts and
    # 30-character names; the documentation page is the newer, so its bounds are used.
    Limit("automation.prompts", 4, unit="prompts", source="OFF"),
    Limit("automation.prompt", 80, min=1, source="OFF"),
    Limit("automation.commands", 30, unit="commands", source="OFF"),
    Limit("automation.command.name", 32, min=1, source="OFF"),
    Limit("automation.command.description", 256, min=1, source="OFF"),
)

#: Business profile ``vertical`` values [SPEC; OFF business-profiles].
PROFILE_VERTICALS: Final[frozenset[str]] = frozenset({
    "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GROCERY", "GOVT",
    "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL", "TRAVEL", "RESTAURANT", "ALCOHOL",
    "ONLINE_GAMBLING", "PHYSICAL_GAMBLING", "OTC_DRUGS",
})


#: A bot command name: letters, digits and underscores, no leading slash [SPEC BotCommand.command_name].
COMMAND_NAME_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
#: Endings a business username may not have [SEC BSP username guides citing Meta's rules].
_USERNAME_BAD_SUFFIXES: Final = (".com", ".org", ".net", ".edu", ".gov", ".mil", ".us", ".in", ".html")
_USERNAME_CHARS: Final = COMMAND_NAME_CHARS | frozenset(".")


def username_problem(username: str) -> str | None:
    """Why ``username`` is not a valid business username, or None when it is.

    Meta's rules as BSP guides state them: 3-35 characters of a-z, A-Z, 0-9, ``.`` and ``_``; at least one
    letter; no leading, trailing or doubled period; not starting with ``www``; no domain ending.
    """
    lim = LIMITS["username"]
    if not lim.min <= len(username) <= lim.max:
        return f"must be {lim.min}-{lim.max} characters"
    if not set(username) <= _USERNAME_CHARS:
        return "may contain only letters, digits, '.' and '_'"
    if not any(ch.isalpha() for ch in username):
        return "must contain at least one letter"
    if username.startswith(".") or username.endswith(".") or ".." in username:
        return "may not start or end with a period or contain two periods in a row"
    lowered = username.lower()
    if lowered.startswith("www"):
        return "may not start with 'www'"
    if lowered.endswith(_USERNAME_BAD_SUFFIXES):
        return "may not end with a domain ending such as .com"
    return None


def limit(field: str) -> Limit:
    """Return the limit for ``field``; a KeyError here is a programming error, not user input."""
    return LIMITS[field]


class MediaKind(StrEnum):
    """The media message types that carry a file."""

    AUDIO = "audio"
    DOCUMENT = "document"
    IMAGE = "image"
    STICKER = "sticker"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class MediaRule:
    """Which MIME types a media kind accepts and how large a file may be (bytes)."""

    kind: MediaKind
    mime_types: frozenset[str]
    max_bytes: int
    caption: bool


_MB = 1024 * 1024
_KB = 1024

MEDIA_RULES: Final[dict[MediaKind, MediaRule]] = {
    MediaKind.AUDIO: MediaRule(
        MediaKind.AUDIO,
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * _MB,
        caption=False,
    ),
    MediaKind.DOCUMENT: MediaRule(
        MediaKind.DOCUMENT,
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * _MB,
        caption=True,
    ),
    MediaKind.IMAGE: MediaRule(MediaKind.IMAGE, frozenset({"image/jpeg", "image/png"}), 5 * _MB, caption=True),
    # Animated stickers may reach 500 KB; static ones 100 KB. The file alone does not say which
    # without decoding it, so the upload check uses the larger bound.
    MediaKind.STICKER: MediaRule(MediaKind.STICKER, frozenset({"image/webp"}), 500 * _KB, caption=False),
    MediaKind.VIDEO: MediaRule(MediaKind.VIDEO, frozenset({"video/3gpp", "video/mp4"}), 16 * _MB, caption=True),
}

STATIC_STICKER_MAX_BYTES: Final = 100 * _KB

#: Every MIME type the media upload endpoint accepts.
ALL_MEDIA_MIME_TYPES: Final[frozenset[str]] = frozenset().union(*(r.mime_types for r in MEDIA_RULES.values()))


def media_kind_for_mime(mime_type: str) -> MediaKind | None:
    """Return the media kind that accepts ``mime_type`` (parameters such as ``; codecs=opus`` ignored)."""
    base = mime_type.split(";", 1)[0].strip().lower()
    for rule in MEDIA_RULES.values():
        if base in rule.mime_types:
            return rule.kind
    return None


# --- Rates and windows -------------------------------------------------------------------------

#: Default per-number throughput (messages per second) [OFF throughput]; 1000 after the upgrade,
#: 20 for coexistence numbers.
DEFAULT_MPS: Final = 80
UPGRADED_MPS: Final = 1000
COEXISTENCE_MPS: Final = 20


def number_mps(configured: float, *, coexistence: bool = False) -> float:
    """The throughput a number can take: ``configured``, capped at :data:`COEXISTENCE_MPS` on a number
    shared with the WhatsApp Business app (coexistence numbers are fixed at 20 msg/s and are not upgraded)."""
    return min(float(configured), float(COEXISTENCE_MPS)) if coexistence else float(configured)

#: Pair rate: one message per 6 s to the same user, bursts up to 45 [OFF about-the-platform].
PAIR_RATE_INTERVAL_S: Final = 6.0
PAIR_RATE_BURST: Final = 45

#: Customer-service window after the user's last message [OFF].
SERVICE_WINDOW_S: Final = 24 * 3600
#: Free-entry-point window after a click-to-WhatsApp ad reply [OFF pricing].
FREE_ENTRY_POINT_WINDOW_S: Final = 72 * 3600

#: Messaging limits: unique customers a business portfolio may reach outside the service window in a
#: moving 24 h, by tier name [OFF messaging-limits]; None is unlimited. Since 2025-10-07 per portfolio.
PORTFOLIO_TIERS: Final[dict[str, int | None]] = {
    "TIER_250": 250, "TIER_2K": 2000, "TIER_10K": 10_000, "TIER_100K": 100_000, "TIER_UNLIMITED": None,
}
#: Older tier names still answered by the deprecated ``messaging_limit_tier`` field [SPEC].
LEGACY_PORTFOLIO_TIERS: Final[dict[str, int | None]] = {"TIER_50": 50, "TIER_1K": 1000}
#: The rolling window the messaging limit counts unique customers over [OFF messaging-limits].
PORTFOLIO_WINDOW_S: Final = 24 * 3600
#: The throughput upgrade takes up to this long, answering 131057 meanwhile [OFF throughput].
THROUGHPUT_UPGRADE_S: Final = 60
#: After a 131049 (per-user marketing cap, adaptive, no fixed number) the engine waits this long before
#: another marketing message to that user [UNCONFIRMED: Meta gives no figure; 24 h is the usual advice].
MARKETING_CAP_COOLDOWN_S: Final = 24 * 3600
#: Marketing Messages API time-to-live bounds are in LIMITS ("template.marketing_ttl_seconds").

#: A media download URL is valid this long [OFF media].
MEDIA_URL_TTL_S: Final = 300
#: Uploaded media live 30 days; webhook media ids 7 days [OFF media].
MEDIA_TTL_S: Final = 30 * 24 * 3600
WEBHOOK_MEDIA_TTL_S: Final = 7 * 24 * 3600
#: Media sent by link is cached by Meta this long [OFF].
MEDIA_LINK_CACHE_S: Final = 600

#: Typing indicator disappears after this long or at the reply [OFF typing].
TYPING_INDICATOR_S: Final = 25

#: Meta's webhook payloads reach this size [OFF webhooks overview].
WEBHOOK_MAX_BODY_BYTES: Final = 3 * _MB

#: Management endpoints: requests per rolling hour per app per WABA [OFF about-the-platform].
MANAGEMENT_CALLS_PER_HOUR: Final = 200
MANAGEMENT_CALLS_PER_HOUR_ACTIVE: Final = 5000

#: Register attempts per number per moving 72 h before 133016 [OFF].
REGISTER_ATTEMPTS_PER_72H: Final = 10

#: A group photo: a square JPEG of at most 5 MB, at least 192 px a side [SPEC update group settings].
GROUP_PHOTO_MAX_BYTES: Final = 5 * _MB
GROUP_PHOTO_MIN_PX: Final = 192

#: Versions: the oldest still served and the default the client uses [OFF versions table]. The default,
#: v25.0 (released 2026-02-18), is served until 2028-07-29; every version's dates are in
#: :mod:`wacloud.graph_versions`, and ``wacloud doctor`` warns six months before the configured one ends.
MIN_API_VERSION: Final = (21, 0)
DEFAULT_API_VERSION: Final = "v25.0"
