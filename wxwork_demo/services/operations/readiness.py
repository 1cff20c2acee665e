"""Readiness: whether this process can serve the console now, each cause named.

Ready means: the database answers, its tables are at this version's migration, and the upstream answers.
`/api/health` stays a liveness check (it needs neither); a deployment that skipped `db upgrade` is alive but
not ready. The upstream is asked with GetRunClient without recording an event (a probe every few seconds
would flood the events log), and its answer is kept UPSTREAM_CACHE_S in this process.

May call: db, database_check, the upstream client. Never records anything.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wxwork_demo.config import current_settings
from wxwork_demo.database_check import explain, head_revision, upgrade_command
from wxwork_demo.db import get_db
from wxwork_demo.upstream import UpstreamError, UpstreamRefused, get_client

UPSTREAM_CACHE_S = 10.0
CACHE_KEY = "wxwork_upstream_readiness"


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str


def readiness() -> dict[str, Check]:
    """The checks, in the order a person fixes them: database, migration, upstream."""
    database, migration = _database()
    return {"database": database, "migration": migration, "upstream": _upstream()}


def _database() -> tuple[Check, Check]:
    url = current_settings().database_url
    head = head_revision()
    try:
        with get_db().engine.connect() as connection:
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        if _missing_table(exc):  # reachable, but never migrated
            return Check(True, "reachable"), Check(False, f"no tables yet: run {upgrade_command()}")
        return Check(False, explain(url, exc)), Check(False, "unknown: the database cannot be read")
    if current != head:
        return Check(True, "reachable"), Check(
            False, f"at migration {current or 'none'}, this version needs {head}: run {upgrade_command()}"
        )
    return Check(True, "reachable"), Check(True, f"at {head}")


def _missing_table(exc: SQLAlchemyError) -> bool:
    words = str(getattr(exc, "orig", None) or exc).lower()
    return "no such table" in words or "doesn't exist" in words


class _UpstreamCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -UPSTREAM_CACHE_S
        self.check = Check(False, "not checked yet")


def _upstream() -> Check:
    cache: _UpstreamCache = current_app.extensions.setdefault(CACHE_KEY, _UpstreamCache())
    with cache.lock:
        if time.monotonic() - cache.checked_at < UPSTREAM_CACHE_S:
            return cache.check
        client = get_client()
        try:
            client.get_run_client()
            check = Check(True, f"{client.base_url} answers")
        except UpstreamRefused:  # an errcode is an answer: the upstream is there
            check = Check(True, f"{client.base_url} answers")
        except UpstreamError as exc:
            check = Check(False, exc.message)
        cache.checked_at, cache.check = time.monotonic(), check
        return check
