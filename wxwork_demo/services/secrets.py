"""The app key, and the secrets the app generates once and shares.

- The app key signs the console's cookies and seals the stored proxy settings (instances/proxy_vault.py).
  It is SECRET_KEY when set, else a random key kept in a file under the instance folder (SECRET_KEY_FILE,
  default `instance/secret_key`, mode 0600), created by whichever process starts first and read by every
  other one. It is never stored in the database: a dump of the database opens neither cookies nor proxies.
- Generated secrets that protect nothing else (the callback token) live in the database, so that every
  process, on every host, agrees on them.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets as random_tokens
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import IntegrityError

from wxwork_demo.config import ConfigError, Settings, current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import AppSecret

CACHE_KEY = "wxwork_secrets"
KEY_FILE_MODE = 0o600
MIN_KEY_CHARS = 32


class KeyFileError(ConfigError):
    """The key file cannot be used: unreadable, readable by other users, or holding no key."""


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset (empty) secret never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def app_key(settings: Settings) -> str:
    """SECRET_KEY, or the key in SECRET_KEY_FILE (created if missing): the same key in every process."""
    return settings.secret_key or read_or_create_key_file(Path(settings.secret_key_file))


def read_or_create_key_file(path: Path) -> str:
    """The key kept in `path`; when there is none yet, a random one is put there first.

    Creating is atomic: the key is written whole to a private draft file, which is then hard-linked to
    `path`. The link fails if another process linked its own key first; either way every process goes on
    to read the one key that won, never a half-written file.
    """
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{random_tokens.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(random_tokens.token_urlsafe(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink()
    return _read_key(path)


def _read_key(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(f"{path} may be read by other users (mode {mode:o}): run `chmod 600 {path}`")
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        raise KeyFileError(f"{path} holds no usable key (at least {MIN_KEY_CHARS} characters): delete or fix it")
    return key


def shared_secret(name: str) -> str:
    """The secret called `name`, created on first use (a race between workers keeps the first one)."""
    cache: dict[str, str] = current_app.extensions.setdefault(CACHE_KEY, {})
    if name in cache:
        return cache[name]
    session = db_session()
    row = session.get(AppSecret, name)
    if row is None:
        session.add(AppSecret(name=name, value=random_tokens.token_urlsafe(32)))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        row = session.get(AppSecret, name)
        if row is None:
            raise RuntimeError(f"the secret {name!r} was neither stored nor found in the app_secrets table")
    cache[name] = row.value
    return row.value


def callback_token() -> str:
    """CALLBACK_TOKEN when configured, else one generated and stored."""
    return current_settings().callback_token or shared_secret("callback_token")
