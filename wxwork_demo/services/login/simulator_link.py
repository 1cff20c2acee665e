"""Whether the upstream is the bundled simulator, so the console can link its QR code to the simulator's page.

Asked only of an upstream on this machine (the simulator listens on loopback), at most once a minute per process.
May call: the upstream client.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import urlsplit

from flask import current_app

from wxwork_demo.config import is_loopback
from wxwork_demo.upstream import get_client

RECHECK_S = 60.0
CACHE_KEY = "wxwork_simulator_page"


class _Known:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -RECHECK_S
        self.page = ""


def simulator_page() -> str:
    """The simulator's control page when it is the upstream, else ""."""
    client = get_client()
    if not is_loopback(urlsplit(client.base_url).hostname or ""):
        return ""
    known: _Known = current_app.extensions.setdefault(CACHE_KEY, _Known())
    with known.lock:
        if time.monotonic() - known.checked_at >= RECHECK_S:
            known.page, known.checked_at = client.simulator_page(), time.monotonic()
        return known.page
