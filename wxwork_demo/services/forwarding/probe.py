"""A signed test delivery (type 0) to every target, sent now: `POST /api/forward/test`, `flask forward test`."""

from __future__ import annotations

import secrets
import time
from typing import Any

from wxwork_demo.config import Settings
from wxwork_demo.errors import AppError
from wxwork_demo.models import utcnow
from wxwork_demo.services.forwarding.outbox import shown_target
from wxwork_demo.services.forwarding.signing import encode_body
from wxwork_demo.services.forwarding.worker import KeepAlive, post_signed
from wxwork_demo.services.inbox.queries import iso_precise

TEST_TYPE = 0


def send_test(settings: Settings) -> list[dict[str, Any]]:
    """`[{"url", "status", "ms", "error"}]`, one per target, in FORWARD_URL's order."""
    targets = settings.forward_url
    if not targets:
        raise AppError(409, "forwarding is off: set FORWARD_URL (and FORWARD_SECRET) to send a test delivery")
    delivery_id = f"test-{secrets.token_hex(8)}"
    body = encode_body(
        {
            "id": delivery_id,
            "type": TEST_TYPE,
            "uuid": "",
            "account": "",
            "receivedAt": iso_precise(utcnow()),
            "message": None,
            "test": True,
        }
    )
    http = KeepAlive()
    results = []
    try:
        for url in targets:
            started = time.monotonic()
            status, error = post_signed(
                http, url, delivery_id, body, settings.forward_secret, settings.forward_timeout_s
            )
            elapsed = round((time.monotonic() - started) * 1000, 1)
            results.append({"url": shown_target(url), "status": status, "ms": elapsed, "error": error})
    finally:
        http.clear()
    return results
