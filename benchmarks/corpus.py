"""A mixed corpus of Meta-shaped, signed webhook bodies, shared by the parse and ingest benchmarks.

Every kind of update a business receives is here: incoming messages of every type (with reply, forward
and ad-referral context), every status (with ``pricing`` / ``conversation`` / ``errors``), value-level
errors, and the management fields (template status/quality/category, account, phone quality, user
preferences, message echoes). Bodies are serialised like Meta's (``ensure_ascii`` so non-ASCII arrives
as ``\\uXXXX`` escapes) and each carries fresh ids, so de-duplication never hides work from a benchmark.

One body holds one update (one entry, one change, one message or status): that is the shape Meta sends
most often, and the only one pywa reads in full (it looks at ``entry[0].changes[0]`` and the first
message or status only), so both sides do the same work per body. :func:`batch_body` builds the
multi-entry shape for the tests that check nothing is dropped.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wacloud.webhooks.signature import sign

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE = "15550783881"
APP_SECRET = "bench-app-secret"

Json = dict[str, Any]


@dataclass
class Ctx:
    """Ids and clock shared by the builders; ``rng`` makes a corpus reproducible from its seed."""

    rng: random.Random
    waba_id: str = WABA_ID
    phone_number_id: str = PHONE_NUMBER_ID
    display_phone: str = DISPLAY_PHONE
    now: int = 1_764_547_200
    counter: int = 0
    bsuid: bool = True
    names: list[str] = field(
        default_factory=lambda: [
            "Sheena Nelson",
            "José Álvarez",
            "Zoë Müller",
            "李小龙",
            "Ananya Iyer",
            "Олег Петров",
        ]
    )

    def wamid(self) -> str:
        """A fresh, realistic-looking ``wamid.`` id."""
        self.counter += 1
        raw = b"\x15\x02\x00\x11\x18\x12" + self.counter.to_bytes(8, "big") + self.rng.randbytes(10)
        return "wamid." + base64.b64encode(raw).decode()

    def wa_id(self) -> str:
        """A customer's WhatsApp id (E.164 digits)."""
        return f"1650555{self.rng.randrange(10**4):04d}"

    def contact(self, wa_id: str, *, profile: bool = True) -> Json:
        """A ``contacts[]`` item; BSUID-era payloads add the business-scoped ``user_id``."""
        item: Json = {"profile": {"name": self.rng.choice(self.names)}} if profile else {}
        item["wa_id"] = wa_id
        if self.bsuid:
            item["user_id"] = f"US.{int(wa_id) * 7919 % 10**19:019d}"
        return item

    def ts(self) -> str:
        """A Unix-seconds timestamp string, as the messages webhooks carry it."""
        self.counter += 1
        return str(self.now + self.counter)

    def media(self, mime: str, **extra: Any) -> Json:
        """An inbound media object (id, mime_type, sha256, url)."""
        media_id = str(self.rng.randrange(10**15, 10**16))
        sha = base64.b64encode(self.rng.randbytes(32)).decode()
        return {
            "id": media_id,
            "mime_type": mime,
            "sha256": sha,
            "url": f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}",
            **extra,
        }


def _metadata(c: Ctx) -> Json:
    return {"display_phone_number": c.display_phone, "phone_number_id": c.phone_number_id}


def _messages_value(c: Ctx, message: Json, *, wa_id: str | None = None, contacts: bool = True) -> Json:
    wa = wa_id or message["from"]
    value: Json = {"messaging_product": "whatsapp", "metadata": _metadata(c)}
    if contacts:
        value["contacts"] = [c.contact(wa)]
    value["messages"] = [message]
    return value


def _msg(c: Ctx, mtype: str, payload: Any, **extra: Any) -> Json:
    m: Json = {"from": c.wa_id(), "id": c.wamid(), "timestamp": c.ts(), "type": mtype}
    if payload is not None:
        m[mtype] = payload
    m.update(extra)
    return m


def _reply_ctx(c: Ctx) -> Json:
    return {"from": c.display_phone, "id": c.wamid()}


# --- incoming messages -------------------------------------------------------------------------------


def m_text(c: Ctx) -> Json:
    return _messages_value(
        c,
        _msg(
            c,
            "text",
            {
                "body": c.rng.choice(
                    [
                        "hi",
                        "Hola, ¿tienen envío gratis?",
                        "Where is my order #4412?",
                        "👍 thanks!",
                        "ok " * 40,
                    ]
                )
            },
        ),
    )


def m_text_reply(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "text", {"body": "yes please"}, context=_reply_ctx(c)))


def m_text_forwarded(c: Ctx) -> Json:
    return _messages_value(
        c, _msg(c, "text", {"body": "look at this"}, context={"frequently_forwarded": True})
    )


def m_text_referral(c: Ctx) -> Json:
    referral = {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120226305854810726",
        "source_type": "ad",
        "body": "Summer sale: 30% off",
        "headline": "Chat with us",
        "media_type": "image",
        "image_url": "https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.png",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM",
        "welcome_message": {"text": "Hi! How can we help?"},
    }
    return _messages_value(c, _msg(c, "text", {"body": "Can I get more info about this?"}, referral=referral))


def m_image(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "image", c.media("image/jpeg", caption="my receipt")))


def m_video(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "video", c.media("video/mp4")))


def m_audio(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "audio", c.media("audio/mpeg", voice=False)))


def m_voice(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "audio", c.media("audio/ogg; codecs=opus", voice=True)))


def m_document(c: Ctx) -> Json:
    return _messages_value(
        c, _msg(c, "document", c.media("application/pdf", filename="invoice-2026-11.pdf", caption="invoice"))
    )


def m_sticker(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "sticker", c.media("image/webp", animated=False)))


def m_location(c: Ctx) -> Json:
    return _messages_value(
        c,
        _msg(
            c,
            "location",
            {"latitude": 19.4326, "longitude": -99.1332, "name": "Zócalo", "address": "Centro, CDMX"},
        ),
    )


def m_contacts(c: Ctx) -> Json:
    contact = {
        "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara", "last_name": "Johnson"},
        "phones": [{"phone": "+1 (940) 555-1234", "type": "CELL", "wa_id": "19405551234"}],
        "emails": [{"email": "bjohnson@example.com", "type": "WORK"}],
        "org": {"company": "Lucky Shrub", "title": "Manager"},
    }
    return _messages_value(c, _msg(c, "contacts", [contact]))


def m_button(c: Ctx) -> Json:
    return _messages_value(
        c, _msg(c, "button", {"payload": "STOP_PROMOS", "text": "Stop promotions"}, context=_reply_ctx(c))
    )


def m_button_reply(c: Ctx) -> Json:
    return _messages_value(
        c,
        _msg(
            c,
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "confirm", "title": "Confirm"}},
            context=_reply_ctx(c),
        ),
    )


def m_list_reply(c: Ctx) -> Json:
    return _messages_value(
        c,
        _msg(
            c,
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "priority_express",
                    "title": "Express",
                    "description": "Next day to 2 days",
                },
            },
            context=_reply_ctx(c),
        ),
    )


def m_nfm_reply(c: Ctx) -> Json:
    response = json.dumps({"flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.", "optional_param1": "1"})
    return _messages_value(
        c,
        _msg(
            c,
            "interactive",
            {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response}},
            context=_reply_ctx(c),
        ),
    )


def m_reaction(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "reaction", {"message_id": c.wamid(), "emoji": "❤️"}))


def m_reaction_removed(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "reaction", {"message_id": c.wamid()}))


def m_order(c: Ctx) -> Json:
    order = {
        "catalog_id": "194836987003835",
        "text": "",
        "product_items": [
            {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"},
            {"product_retailer_id": "nqryix03ez", "quantity": 1, "item_price": 25, "currency": "USD"},
        ],
    }
    return _messages_value(c, _msg(c, "order", order))


def m_system(c: Ctx) -> Json:
    new = c.wa_id()
    message = _msg(
        c,
        "system",
        {"body": f"User A changed from {c.wa_id()} to {new}", "type": "user_changed_number", "wa_id": new},
    )
    return _messages_value(c, message, contacts=False)


def m_unsupported(c: Ctx) -> Json:
    err = {
        "code": 131051,
        "title": "Message type unknown",
        "message": "Message type unknown",
        "error_data": {"details": "Message type is currently not supported."},
    }
    return _messages_value(c, _msg(c, "unsupported", {"type": "poll"}, errors=[err]))


def m_revoke(c: Ctx) -> Json:
    return _messages_value(c, _msg(c, "revoke", {"original_message_id": c.wamid()}))


def m_edit(c: Ctx) -> Json:
    original = c.wamid()
    inner = {"context": {"id": original}, "type": "text", "text": {"body": "edited text"}}
    return _messages_value(c, _msg(c, "edit", {"original_message_id": original, "message": inner}))


# --- statuses ---------------------------------------------------------------------------------------


def _status(c: Ctx, status: str, **extra: Any) -> Json:
    wa = c.wa_id()
    st: Json = {"id": c.wamid(), "status": status, "timestamp": c.ts(), "recipient_id": wa}
    st.update(extra)
    value: Json = {"messaging_product": "whatsapp", "metadata": _metadata(c)}
    if c.bsuid:
        value["contacts"] = [c.contact(wa, profile=False)]
    value["statuses"] = [st]
    return value


def _pricing(category: str = "utility") -> Json:
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def s_sent(c: Ctx) -> Json:
    conv = {
        "id": "deb8e4ab4e4c6cc8b6e1e4cd4d1b7e3a",
        "expiration_timestamp": str(c.now + 86400),
        "origin": {"type": "utility"},
    }
    return _status(c, "sent", conversation=conv, pricing=_pricing(), biz_opaque_callback_data="order:4412")


def s_delivered(c: Ctx) -> Json:
    return _status(c, "delivered", pricing=_pricing("marketing"))


def s_read(c: Ctx) -> Json:
    return _status(c, "read")


def s_played(c: Ctx) -> Json:
    return _status(c, "played")


def s_failed(c: Ctx) -> Json:
    code, title, details = c.rng.choice(
        [
            (
                131050,
                "Unable to deliver the message. This recipient has chosen to stop receiving marketing "
                "messages on WhatsApp from your business.",
                "Marketing messages opted out.",
            ),
            (
                131047,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed "
                "since the customer last replied to this number.",
            ),
            (131026, "Message undeliverable", "Message Undeliverable."),
        ]
    )
    err = {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }
    return _status(c, "failed", errors=[err])


def v_errors(c: Ctx) -> Json:
    err = {
        "code": 130429,
        "title": "Rate limit hit",
        "message": "(#130429) Rate limit hit",
        "error_data": {"details": "Cloud API message throughput has been reached."},
    }
    return {"messaging_product": "whatsapp", "metadata": _metadata(c), "errors": [err]}


# --- management fields ------------------------------------------------------------------------------


def t_status(c: Ctx) -> Json:
    return {
        "event": "APPROVED",
        "message_template_id": c.rng.randrange(10**15, 10**16),
        "message_template_name": "order_confirmation",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }


def t_quality(c: Ctx) -> Json:
    return {
        "previous_quality_score": "GREEN",
        "new_quality_score": "YELLOW",
        "message_template_id": c.rng.randrange(10**15, 10**16),
        "message_template_name": "summer_sale",
        "message_template_language": "en_US",
    }


def t_category(c: Ctx) -> Json:
    return {
        "message_template_id": c.rng.randrange(10**15, 10**16),
        "message_template_name": "welcome",
        "message_template_language": "en_US",
        "previous_category": "UTILITY",
        "new_category": "MARKETING",
    }


def a_update(c: Ctx) -> Json:
    return {
        "phone_number": c.display_phone,
        "event": "ACCOUNT_VIOLATION",
        "violation_info": {"violation_type": "SCAM"},
    }


def p_quality(c: Ctx) -> Json:
    return {
        "display_phone_number": c.display_phone,
        "event": "UPGRADE",
        "current_limit": "TIER_10K",
        "old_limit": "TIER_1K",
    }


def u_preferences(c: Ctx) -> Json:
    wa = c.wa_id()
    return {
        "messaging_product": "whatsapp",
        "metadata": _metadata(c),
        "contacts": [c.contact(wa)],
        "user_preferences": [
            {
                "wa_id": wa,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": int(c.ts()),
            }
        ],
    }


def e_echo(c: Ctx) -> Json:
    wa = c.wa_id()
    echo = {
        "from": c.display_phone,
        "to": wa,
        "id": c.wamid(),
        "timestamp": c.ts(),
        "type": "text",
        "text": {"body": "Sent from the WhatsApp Business app"},
    }
    value: Json = {"messaging_product": "whatsapp", "metadata": _metadata(c)}
    if c.bsuid:
        value["contacts"] = [c.contact(wa, profile=False)]
    value["message_echoes"] = [echo]
    return value


Builder = Callable[[Ctx], Json]

#: kind -> (webhook field, value builder). Order is the round-robin order of :func:`bodies`.
KINDS: dict[str, tuple[str, Builder]] = {
    "text": ("messages", m_text),
    "text_reply": ("messages", m_text_reply),
    "text_forwarded": ("messages", m_text_forwarded),
    "text_referral": ("messages", m_text_referral),
    "image": ("messages", m_image),
    "video": ("messages", m_video),
    "audio": ("messages", m_audio),
    "voice": ("messages", m_voice),
    "document": ("messages", m_document),
    "sticker": ("messages", m_sticker),
    "location": ("messages", m_location),
    "contacts": ("messages", m_contacts),
    "button": ("messages", m_button),
    "button_reply": ("messages", m_button_reply),
    "list_reply": ("messages", m_list_reply),
    "nfm_reply": ("messages", m_nfm_reply),
    "reaction": ("messages", m_reaction),
    "reaction_removed": ("messages", m_reaction_removed),
    "order": ("messages", m_order),
    "system": ("messages", m_system),
    "unsupported": ("messages", m_unsupported),
    "revoke": ("messages", m_revoke),
    "edit": ("messages", m_edit),
    "status_sent": ("messages", s_sent),
    "status_delivered": ("messages", s_delivered),
    "status_read": ("messages", s_read),
    "status_played": ("messages", s_played),
    "status_failed": ("messages", s_failed),
    "value_errors": ("messages", v_errors),
    "template_status": ("message_template_status_update", t_status),
    "template_quality": ("message_template_quality_update", t_quality),
    "template_category": ("template_category_update", t_category),
    "account_update": ("account_update", a_update),
    "phone_quality": ("phone_number_quality_update", p_quality),
    "user_preferences": ("user_preferences", u_preferences),
    "message_echo": ("smb_message_echoes", e_echo),
}

#: Status webhooks outnumber inbound messages about 3:1 in real traffic (facts §5.3); ``realistic``
#: weights the kinds that way, ``uniform`` gives every kind the same share.
MIXES: dict[str, dict[str, float]] = {
    "uniform": dict.fromkeys(KINDS, 1.0),
    "realistic": {
        **dict.fromkeys(KINDS, 0.25),
        "text": 6.0,
        "text_reply": 2.0,
        "image": 1.5,
        "button_reply": 1.0,
        "list_reply": 0.5,
        "status_sent": 8.0,
        "status_delivered": 8.0,
        "status_read": 6.0,
        "status_failed": 0.5,
    },
}


def envelope(c: Ctx, changes: list[tuple[str, Json]]) -> Json:
    """One ``whatsapp_business_account`` envelope with one entry holding ``changes``."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": c.waba_id, "time": c.now, "changes": [{"field": f, "value": v} for f, v in changes]}
        ],
    }


def dumps(obj: Json) -> bytes:
    """Serialise like Meta: compact, non-ASCII escaped as ``\\uXXXX``."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()


def iter_kinds(n: int, *, mix: str = "uniform", seed: int = 0) -> Iterator[str]:
    """``n`` kind names: round-robin for ``uniform`` (every kind equally often), weighted otherwise."""
    names = list(KINDS)
    if mix == "uniform":
        for i in range(n):
            yield names[i % len(names)]
        return
    weights = MIXES[mix]
    rng = random.Random(seed ^ 0x5EED)
    yield from rng.choices(names, weights=[weights[k] for k in names], k=n)


def bodies(
    n: int, *, mix: str = "uniform", seed: int = 0, kinds: list[str] | None = None, bsuid: bool = True
) -> list[bytes]:
    """``n`` raw webhook bodies, one update each, with fresh ids."""
    c = Ctx(random.Random(seed), bsuid=bsuid)
    chosen = kinds or list(iter_kinds(n, mix=mix, seed=seed))
    out = []
    for i in range(n):
        fld, build = KINDS[chosen[i % len(chosen)]]
        out.append(dumps(envelope(c, [(fld, build(c))])))
    return out


def kind_sample(seed: int = 0, *, bsuid: bool = True) -> dict[str, bytes]:
    """One body of every kind, keyed by kind (for tests and the parity table in the doc)."""
    c = Ctx(random.Random(seed), bsuid=bsuid)
    return {k: dumps(envelope(c, [(fld, build(c))])) for k, (fld, build) in KINDS.items()}


def batch_body(n_entries: int, changes_per_entry: int, *, seed: int = 0) -> tuple[bytes, int]:
    """A multi-entry, multi-change envelope of message and status changes, and its number of updates."""
    c = Ctx(random.Random(seed))
    builders = [m_text, s_delivered, m_image, s_read]
    entries = []
    for e in range(n_entries):
        changes = [
            {"field": "messages", "value": builders[(e + j) % len(builders)](c)}
            for j in range(changes_per_entry)
        ]
        entries.append({"id": c.waba_id, "time": c.now, "changes": changes})
    return dumps({"object": "whatsapp_business_account", "entry": entries}), n_entries * changes_per_entry


def signed(bodies_: list[bytes], app_secret: str = APP_SECRET) -> list[tuple[bytes, str]]:
    """Each body with its ``X-Hub-Signature-256`` header value."""
    return [(b, sign(b, app_secret)) for b in bodies_]


def main() -> None:
    """Print one body of each kind (``python -m benchmarks.corpus``), for eyeballing the shapes."""
    for kind, body in kind_sample().items():
        print(f"{kind:18} {len(body):5d} B  {body[:150].decode()}...")
    print(f"corpus: {len(KINDS)} kinds")


if __name__ == "__main__":
    main()
