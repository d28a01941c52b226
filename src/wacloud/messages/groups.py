"""What may be sent to a WhatsApp group (``recipient_type: "group"``).

Groups take text, media (image, video, audio, document, sticker) and templates built from text and
media only. Interactive messages, reactions, locations, contacts, commerce messages and
authentication / carousel / Flow templates are refused locally with a
:class:`~wacloud.errors.ValidationError` naming the offending field, before any request is made.
"""

from __future__ import annotations

from typing import Any

from wacloud.errors import ValidationError

from .media import Audio, Document, Image, Sticker, Video
from .template import Template
from .text import Text

#: Message models a group accepts as they are (templates are checked component by component).
GROUP_CONTENT: tuple[type[Any], ...] = (Text, Image, Video, Audio, Document, Sticker)
#: Template component types that make a template more than text and media.
_REFUSED_COMPONENTS = frozenset({"carousel", "limited_time_offer"})
#: Template button sub-types groups accept; copy_code/otp are authentication, the rest interactive.
_GROUP_BUTTONS = frozenset({"quick_reply", "url"})


def check_group_message(message: Any) -> None:
    """Raise :class:`ValidationError` unless ``message`` may be sent to a group."""
    if isinstance(message, GROUP_CONTENT):
        return
    if isinstance(message, Template):
        _check_template(message)
        return
    kind = getattr(message, "interactive_type", None) or getattr(message, "type", type(message).__name__)
    field = str(getattr(message, "graph_key", "type"))  # "interactive", "reaction", "location"…
    raise ValidationError(
        field, f"{kind!r} messages cannot be sent to a group; groups take text, media and text/media templates"
    )


def _check_template(template: Template) -> None:
    components = template.graph().get("components") or []
    for i, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        ctype = str(component.get("type", "")).lower()
        if ctype in _REFUSED_COMPONENTS:
            raise ValidationError(f"template.components[{i}].type",
                                  f"{ctype} templates cannot be sent to a group")
        if ctype == "button":
            sub_type = str(component.get("sub_type", "")).lower()
            if sub_type not in _GROUP_BUTTONS:
                raise ValidationError(
                    f"template.components[{i}].sub_type",
                    f"{sub_type!r} buttons (authentication, Flow, catalog…) cannot be sent to a group",
                )
