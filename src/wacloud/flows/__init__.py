"""WhatsApp Flows helpers: the encrypted data-exchange endpoint and the ``nfm_reply`` completion."""

from __future__ import annotations

from wacloud.flows.crypto import (
    FlowDecryptError,
    FlowRequest,
    decrypt_request,
    decrypt_response,
    encrypt_request,
    encrypt_response,
    generate_private_key,
    load_private_key,
    public_key_pem,
)
from wacloud.flows.endpoint import (
    ACK_RESPONSE,
    DECRYPT_FAILED,
    FLOW_TOKEN_INVALID,
    PING_RESPONSE,
    SIGNATURE_INVALID,
    FlowAnswer,
    FlowEndpoint,
    FlowTokenInvalid,
)
from wacloud.flows.nfm import FlowCompletion, parse_nfm_reply

__all__ = [
    "ACK_RESPONSE",
    "DECRYPT_FAILED",
    "FLOW_TOKEN_INVALID",
    "PING_RESPONSE",
    "SIGNATURE_INVALID",
    "FlowAnswer",
    "FlowCompletion",
    "FlowDecryptError",
    "FlowEndpoint",
    "FlowRequest",
    "FlowTokenInvalid",
    "decrypt_request",
    "decrypt_response",
    "encrypt_request",
    "encrypt_response",
    "generate_private_key",
    "load_private_key",
    "parse_nfm_reply",
    "public_key_pem",
]
