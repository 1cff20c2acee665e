"""The proxy an instance was created with, kept on its session so that a reconnect goes through it too.

An account that logs in through a proxy and comes back from another address looks like a stolen one to
the upstream's risk control: the monitor's re-init (services/monitor/reconnect.py) must send the same
proxy. The settings, password included, are stored sealed (Fernet: AES with an HMAC) under a key derived
from the app key (services/secrets.py: SECRET_KEY or the instance key file, never the database). They are
opened only to build that init request, whose event has the password masked like every other. A seal
that does not open (the key was changed, or differs between processes) is an error, never a reason to
reconnect without the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from flask import current_app

from wxwork_demo.upstream import INIT_FIELDS

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

# The init fields that describe the proxy (upstream-api.md §2.1): all but the account and the device type.
PROXY_FIELDS = (*(name for name in INIT_FIELDS if name != "vid"), "proxySituation")


def proxy_fields(init_fields: dict[str, Any]) -> dict[str, Any]:
    """The proxy part of init's fields; empty when no proxy address is given."""
    if not init_fields.get("ip"):
        return {}
    return {name: init_fields[name] for name in PROXY_FIELDS if init_fields.get(name) not in (None, "")}


def seal(proxy: dict[str, Any]) -> str | None:
    """The sealed form of `proxy` for the sessions table (None for no proxy)."""
    if not proxy:
        return None
    return _fernet().encrypt(json.dumps(proxy, ensure_ascii=False).encode()).decode()


class ProxyUnreadable(Exception):
    """A stored proxy does not open with this process's key."""


def unseal(sealed: str | None) -> dict[str, Any]:
    """The proxy fields back from their sealed form ({} when none was stored); `ProxyUnreadable` when the
    seal does not open."""
    if not sealed:
        return {}
    from cryptography.fernet import InvalidToken  # see _fernet

    try:
        proxy = json.loads(_fernet().decrypt(sealed.encode()))
    except (InvalidToken, ValueError):
        raise ProxyUnreadable(
            "the stored proxy settings do not open with this process's key (SECRET_KEY or the instance key "
            "file was changed, or differs between processes)"
        ) from None
    if not isinstance(proxy, dict):
        raise ProxyUnreadable("the stored proxy settings open, but hold no object of fields")
    return proxy


def _fernet() -> Fernet:
    # Imported here: cryptography adds about 9 MB to every process that imports it, and only the processes
    # that log in or reconnect an instance with a proxy need it.
    from cryptography.fernet import Fernet

    secret = current_app.secret_key
    # str() of the key as configured (a str): the seals already stored depend on this exact text.
    digest = hashlib.sha256(f"wxwork-proxy-vault:{secret!s}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
