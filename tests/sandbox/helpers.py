"""Shared helpers for the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx

from wacloud.sandbox.testing import SandboxHandle

WA_ID = "16505551234"

#: Small files of each media kind, for uploads.
FILES = {
    "image": (b"\xff\xd8\xff\xe0" + b"0" * 64, "image/jpeg"),
    "video": (b"\x00\x00\x00\x18ftypmp42" + b"0" * 64, "video/mp4"),
    "audio": (b"OggS" + b"0" * 64, "audio/ogg"),
    "document": (b"%PDF-1.4" + b"0" * 64, "application/pdf"),
    "sticker": (b"RIFF\x00\x00\x00\x00WEBP" + b"0" * 64, "image/webp"),
}


def send(sandbox: SandboxHandle, body: dict[str, Any], *, raw: bool = False) -> httpx.Response:
    """POST a body to /messages (``messaging_product`` added unless ``raw``)."""
    payload = body if raw else {"messaging_product": "whatsapp", **body}
    return sandbox.http.post(f"/{sandbox.phone_number_id}/messages", json=payload)


def upload(sandbox: SandboxHandle, kind: str) -> str:
    """Upload a small file of ``kind``; returns the media id."""
    data, mime = FILES[kind]
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (f"f.{kind}", data, mime)},
    )
    assert r.status_code == 200, r.text
    media_id: str = r.json()["id"]
    return media_id


def error_code(response: httpx.Response) -> int:
    """The Graph error code of an error answer (fails on success)."""
    assert response.status_code >= 400, response.text
    code: int = response.json()["error"]["code"]
    return code


def open_window(sandbox: SandboxHandle, wa_id: str = WA_ID) -> str:
    """The customer writes first (opens the 24 h window); returns the inbound wamid."""
    wamid: str = sandbox.inject(wa_id, text="hello")["id"]
    return wamid


def template_for(send_body: dict[str, Any]) -> dict[str, Any]:
    """A template definition that the template send ``send_body`` fits (for the spec's examples)."""
    tpl = send_body["template"]
    components: list[dict[str, Any]] = []
    body_n = 0
    buttons: dict[int, str] = {}
    for comp in tpl.get("components", []):
        ctype = comp["type"].lower()
        if ctype == "header":
            ptype = comp["parameters"][0]["type"]
            header: dict[str, Any] = {"type": "HEADER", "format": ptype.upper()}
            if ptype == "text":
                header["text"] = "Hi {{1}}"
            components.append(header)
        elif ctype == "body":
            body_n = len(comp.get("parameters", []))
        elif ctype == "button":
            sub = comp["sub_type"].lower()
            buttons[int(comp["index"])] = {
                "quick_reply": "QUICK_REPLY",
                "flow": "FLOW",
                "catalog": "CATALOG",
                "url": "URL",
                "copy_code": "COPY_CODE",
            }[sub]
    text = "Hello " + " ".join(f"{{{{{i}}}}}" for i in range(1, body_n + 1)) + " thanks"
    components.append({"type": "BODY", "text": text})
    if buttons:
        defs = []
        for i in range(max(buttons) + 1):
            btype = buttons.get(i, "QUICK_REPLY")
            item: dict[str, Any] = {"type": btype, "text": f"Button {i}"}
            if btype == "URL":
                item["url"] = "https://example.com/{{1}}"
            defs.append(item)
        components.append({"type": "BUTTONS", "buttons": defs})
    return {"name": tpl["name"], "language": tpl["language"]["code"], "category": "UTILITY", "components": components}
