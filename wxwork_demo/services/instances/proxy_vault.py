"""The proxy an instance was created with, kept on its session so that a reconnect goes through it too.

An account that logs in through a proxy and comes back from another address looks like a stolen one to
the upstream's risk control: the monitor's re-init (services/monitor/reconnect.py) must send the same proxy. The
settings, password included, are stored sealed (Fernet: AES with an HMAC) under a key derived from
SECRET_KEY, or, without one, from a key generated once and kept in `app_secrets`. They are opened only to
build that init request, whose event has the password masked like every other. A seal that no longer
opens (SECRET_KEY changed) is logged and the reconnect goes without a proxy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging

from cryptography.fernet import Fernet, InvalidToken

from wxwork_demo.config import current_settings
from wxwork_demo.services.secrets import shared_secret
from wxwork_demo.upstream import INIT_FIELDS

log = logging.getLogger(__name__)

# The init fields that describe the proxy (upstream-api.md §2.1): all but the account and the device type.
PROXY_FIELDS = (*(name for name in INIT_FIELDS if name != "vid"), "proxySituation")


def proxy_fields(init_fields: dict) -> dict:
    """The proxy part of init's fields; empty when no proxy address is given."""
    if not init_fields.get("ip"):
        return {}
    return {name: init_fields[name] for name in PROXY_FIELDS if init_fields.get(name) not in (None, "")}


def seal(proxy: dict) -> str | None:
    """The sealed form of `proxy` for the sessions table (None for no proxy)."""
    if not proxy:
        return None
    return _fernet().encrypt(json.dumps(proxy, ensure_ascii=False).encode()).decode()


def unseal(sealed: str | None) -> dict:
    """The proxy fields back from their sealed form; {} when there are none or they no longer open."""
    if not sealed:
        return {}
    try:
        return json.loads(_fernet().decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        log.warning("a stored proxy could not be opened (was SECRET_KEY changed?): reconnecting without it")
        return {}


def _fernet() -> Fernet:
    secret = current_settings().secret_key or shared_secret("proxy_key")
    digest = hashlib.sha256(f"wxwork-proxy-vault:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
