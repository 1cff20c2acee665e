"""Catch-up: after a login or a reconnect, ask the upstream to push again what the account missed.

The upstream documents no callback retry: a callback lost while the app was down (or answered with an
error) may never come again. `SyncAllData {"uuid", "limit", "seq"}` pushes the messages after `seq` again
as callbacks with `issync: true` (upstream-api-more.md §5); they are stored like live ones and the inbox's
per-account key recognises those it holds already. `seq` is exactly the last `server_id` received for the
account; an account that never received one is not synced (there is nothing to resume from).
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app

from wxwork_demo.proxies import unproxied
from wxwork_demo.services.inbox.queries import newest_server_id
from wxwork_demo.services.inbox.retention import saved_cursor
from wxwork_demo.services.instances.registry import find_instance
from wxwork_demo.services.upstream_calls import client, traced
from wxwork_demo.upstream import UpstreamError

log = logging.getLogger(__name__)

SYNC_LIMIT = 1000


def last_server_id(account: str) -> int | None:
    """The highest server_id received for the account: in its messages, or kept when they were trimmed."""
    found = [value for value in (newest_server_id(account), saved_cursor(account)) if value]
    return max(found) if found else None


def catch_up(uuid: str) -> int | None:
    """SyncAllData from the account's last server_id on the instance `uuid`; returns that seq (None: skipped)."""
    row = find_instance(uuid)
    if row is None or not row.vid:
        return None
    seq = last_server_id(row.vid)
    if seq is None:  # nothing received yet: nothing to resume from
        return None
    try:
        traced("catch_up", uuid, client().sync_all_data, uuid, seq, SYNC_LIMIT)
    except UpstreamError:
        return None  # recorded by traced(); the next login or reconnect asks again
    return seq


def catch_up_soon(app: Flask, uuid: str) -> None:
    """Catch up in a thread of its own: called where a request or a job must not wait for the upstream."""

    def run() -> None:
        with app.app_context():
            try:
                catch_up(uuid)
            except Exception:
                log.exception("catch-up of %s failed", uuid)

    threading.Thread(target=run, name=f"catch-up-{uuid[:8]}", daemon=True).start()


def catch_up_after_login(uuid: str) -> None:
    catch_up_soon(unproxied(current_app), uuid)
