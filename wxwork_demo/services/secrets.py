"""Secrets the app generates once and shares through the database, so every worker agrees on them."""

from __future__ import annotations

import hmac
import secrets as random_tokens

from flask import current_app
from sqlalchemy.exc import IntegrityError

from wxwork_demo.config import current_settings
from wxwork_demo.db import db_session
from wxwork_demo.models import AppSecret

CACHE_KEY = "wxwork_secrets"


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset (empty) secret never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def shared_secret(name: str) -> str:
    """The secret called `name`, created on first use (a race between workers keeps the first one)."""
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
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
    cache[name] = row.value
    return row.value


def callback_token() -> str:
    """CALLBACK_TOKEN when configured, else one generated and stored."""
    return current_settings().callback_token or shared_secret("callback_token")
