"""Flow data-exchange encryption, as Meta documents it.

A request carries ``encrypted_aes_key`` (a 128-bit AES key wrapped with the business's RSA public
key, RSA-OAEP with SHA-256 and MGF1-SHA-256), ``initial_vector`` (16 bytes) and
``encrypted_flow_data`` (AES-128-GCM ciphertext with the 16-byte tag appended), all base64. The
response is encrypted with the *same* AES key and the bit-inverted IV, and sent back as a base64
string. :func:`encrypt_request` / :func:`decrypt_response` are WhatsApp's side, for tests and the sandbox.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wacloud.errors import WacloudError

_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class FlowDecryptError(WacloudError):
    """The request could not be decrypted (wrong key, tampered data): answer HTTP 421."""


@dataclass(frozen=True, slots=True)
class FlowRequest:
    """A decrypted data-exchange request; keeps the key material needed to answer it."""

    payload: dict[str, Any]
    aes_key: bytes = field(repr=False)
    iv: bytes = field(repr=False)

    @property
    def action(self) -> str:
        """``ping``, ``INIT``, ``data_exchange``, ``BACK`` or ``navigate``."""
        return str(self.payload.get("action", ""))

    @property
    def screen(self) -> str | None:
        """The screen the user is on (absent for ping and INIT)."""
        value = self.payload.get("screen")
        return str(value) if value is not None else None

    @property
    def data(self) -> dict[str, Any]:
        """The data the screen submitted (empty when none)."""
        value = self.payload.get("data")
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def flow_token(self) -> str | None:
        """The flow token the business gave when sending the flow."""
        value = self.payload.get("flow_token")
        return str(value) if value is not None else None

    def encrypt(self, response: Mapping[str, Any]) -> str:
        """The encrypted, base64 answer to this request."""
        return encrypt_response(response, self.aes_key, self.iv)


def generate_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A new RSA key pair for the flow endpoint (upload its public half to Meta)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def load_private_key(pem: bytes | str, password: bytes | str | None = None) -> rsa.RSAPrivateKey:
    """Load a PEM private key (optionally encrypted with ``password``)."""
    data = pem.encode() if isinstance(pem, str) else pem
    pw = password.encode() if isinstance(password, str) else password
    key = serialization.load_pem_private_key(data, password=pw)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the flow endpoint key must be an RSA private key")
    return key


def public_key_pem(private_key: rsa.RSAPrivateKey) -> str:
    """The PEM public key to register with ``POST /{phone-id}/whatsapp_business_encryption``."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _b64(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise FlowDecryptError(f"{name} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FlowDecryptError(f"{name} is not base64") from None


def _flip(iv: bytes) -> bytes:
    return bytes(b ^ 0xFF for b in iv)


def decrypt_request(body: Mapping[str, Any], private_key: rsa.RSAPrivateKey) -> FlowRequest:
    """Decrypt a data-exchange request body; :class:`FlowDecryptError` when it cannot be."""
    if not isinstance(body, Mapping):
        raise FlowDecryptError("the request body is not a JSON object")
    wrapped = _b64(body.get("encrypted_aes_key"), "encrypted_aes_key")
    iv = _b64(body.get("initial_vector"), "initial_vector")
    data = _b64(body.get("encrypted_flow_data"), "encrypted_flow_data")
    try:
        aes_key = private_key.decrypt(wrapped, _OAEP)
    except ValueError:
        raise FlowDecryptError("the AES key could not be unwrapped with this private key") from None
    if len(aes_key) not in (16, 24, 32) or len(iv) < 8:
        raise FlowDecryptError("unexpected AES key or IV size")
    try:
        plain = AESGCM(aes_key).decrypt(iv, data, None)
    except InvalidTag:
        raise FlowDecryptError("the flow data failed authentication") from None
    try:
        payload = json.loads(plain)
    except ValueError:
        raise FlowDecryptError("the decrypted flow data is not JSON") from None
    if not isinstance(payload, dict):
        raise FlowDecryptError("the decrypted flow data is not a JSON object")
    return FlowRequest(payload, aes_key, iv)


def encrypt_response(response: Mapping[str, Any], aes_key: bytes, iv: bytes) -> str:
    """AES-GCM with the request's key and the inverted IV; base64 of ciphertext + tag."""
    plain = json.dumps(response, separators=(",", ":")).encode()
    return base64.b64encode(AESGCM(aes_key).encrypt(_flip(iv), plain, None)).decode()


def encrypt_request(
    payload: Mapping[str, Any], public_key: rsa.RSAPublicKey
) -> tuple[dict[str, str], bytes, bytes]:
    """WhatsApp's side: the encrypted body for ``payload``, plus the AES key and IV used."""
    aes_key, iv = os.urandom(16), os.urandom(16)
    data = AESGCM(aes_key).encrypt(iv, json.dumps(payload).encode(), None)
    body = {
        "encrypted_flow_data": base64.b64encode(data).decode(),
        "encrypted_aes_key": base64.b64encode(public_key.encrypt(aes_key, _OAEP)).decode(),
        "initial_vector": base64.b64encode(iv).decode(),
    }
    return body, aes_key, iv


def decrypt_response(text: str | bytes, aes_key: bytes, iv: bytes) -> dict[str, Any]:
    """WhatsApp's side: decrypt an endpoint's base64 answer."""
    raw = base64.b64decode(text)
    try:
        plain = AESGCM(aes_key).decrypt(_flip(iv), raw, None)
    except InvalidTag:
        raise FlowDecryptError("the response failed authentication") from None
    result = json.loads(plain)
    if not isinstance(result, dict):
        raise FlowDecryptError("the response is not a JSON object")
    return result
