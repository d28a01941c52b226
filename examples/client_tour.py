"""A tour of the client against a sandbox started in this process (nothing leaves the machine).

Run: python examples/client_tour.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from wacloud import AsyncClient, Client, ValidationError, WindowClosed
from wacloud.messages import ReplyButton, ReplyButtons
from wacloud.sandbox.testing import run_sandbox

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def tour(base_url: str, token: str, phone_number_id: str) -> None:
    """Send a few message kinds, show the local checks and a window-closed error, round-trip a file."""
    # With a Meta account: Client(token="EAAG…", phone_number_id="…") talks to graph.facebook.com.
    client = Client(token=token, phone_number_id=phone_number_id, base_url=base_url)

    sent = client.send_template("+1 650-555-1234", "hello_world", "en_US")
    print("template accepted:", sent.wamid, "for wa_id", sent.wa_id)

    buttons = ReplyButtons(body="Still interested?",
                           buttons=[ReplyButton(id="yes", title="Yes"), ReplyButton(id="no", title="No")])
    try:
        client.send(sent.wa_id, buttons)
    except WindowClosed as exc:  # free-form before the customer wrote to us: Meta's 131047
        print("window closed:", exc.code, exc.fbtrace_id)

    try:
        client.send_text("+16505551234", "x" * 5000)
    except ValidationError as exc:  # raised before any request is made
        print("refused locally:", exc.field, exc.size, exc.limit)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "invoice.pdf")
        path.write_bytes(PDF)
        media_id = client.upload(path, "application/pdf")  # MIME type and size checked first
        assert client.download(media_id) == PDF  # sha256 checked against the server's
        print("uploaded and downloaded", media_id)
    client.close()

    async def main() -> None:
        async with AsyncClient(token=token, phone_number_id=phone_number_id, base_url=base_url) as aclient:
            await aclient.send_template("+16505551234", "hello_world")
            print("the async client has the same methods, awaited")

    asyncio.run(main())


if __name__ == "__main__":
    # 131047 is answered in the HTTP response here so that the example can show the exception; by default
    # the sandbox reports it the way Meta does, as a `failed` status webhook after a 200.
    with run_sandbox(failure_channels={"131047": "sync"}) as sandbox:
        tour(sandbox.base_url, sandbox.token, sandbox.phone_number_id)
