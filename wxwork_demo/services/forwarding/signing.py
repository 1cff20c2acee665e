"""The headers every forwarded request carries (local-api.md, "Forwarding").

A receiver recomputes HMAC-SHA256(FORWARD_SECRET, timestamp + "." + raw body) and compares it with the
`X-Wxwork-Signature` header; the timestamp lets it refuse old replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `timestamp.body` under `secret`."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def encode_body(document: Any) -> bytes:
    """The raw body sent (and signed): compact UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(secret: str, delivery_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        "X-Wxwork-Delivery": delivery_id,
        "X-Wxwork-Timestamp": timestamp,
        "X-Wxwork-Signature": signature(secret, timestamp, body),
    }
