"""Upstream calls as the services make them: each one recorded in `events`, success or failure.

Stages are the old demo's (local-api.md, "Event stages"): a call's stage (`send_text`) for its reply and
`<stage>_error` (`send_text_error`) for its failure, unless the caller names another (`reconnect_error`).

Recording never turns an upstream outcome into another one: once the upstream has acted (a message sent, an
instance created), failing to write it down is logged and the caller still gets the upstream's answer (a 503
now would make the client retry, and the upstream act twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVarTuple

from sqlalchemy.exc import DBAPIError

from wxwork_demo.config import current_settings
from wxwork_demo.contract.status import UpstreamCheck
from wxwork_demo.db import after_commit, db_session, holds_uncommitted_writes
from wxwork_demo.services.events import INSERT_EVENT, event_values, prune_if_due
from wxwork_demo.services.intake.counters import count
from wxwork_demo.upstream import Reply, UpstreamClient, UpstreamError, UpstreamRefused, get_client

UPSTREAM_CALLS = "upstream_calls"  # the counters' prefix: upstream_calls:<action>:<outcome>
# "出现二次验证，请重新获取二维码登录" (docs: 00-basic); services/monitor/secondary.py handles it.
SECONDARY_ERRCODE = -11025

log = logging.getLogger(__name__)
# MySQL/MariaDB errors worth one more try: deadlock, lock wait timeout.
RETRIED_ERRORS = {1213, 1205}

_pool: ThreadPoolExecutor | None = None
Args = TypeVarTuple("Args")
# What a caller of `traced` keeps of the call's outcome, in the transaction of its event row.
Keep = Callable[["Reply | UpstreamError"], object]


def _executor() -> ThreadPoolExecutor:
    # Created on first use, never at import or inside create_app (gunicorn forks after import).
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="upstream")
    return _pool


def reply_payload(reply: Reply) -> dict[str, Any]:
    return {"request": reply.request, "response": reply.envelope, "elapsedMs": round(reply.elapsed_ms, 1)}


def error_stage(stage: str) -> str:
    """The stage of a failed call: `send_text` -> `send_text_error`."""
    return stage if stage.endswith("_error") else f"{stage}_error"


def record_outcome(stage: str, uuid: str, outcome: Reply | UpstreamError, keep: Keep | None = None) -> None:
    """Record a call's outcome (its event row, under `error_stage(stage)` for a failure, what a failure says
    about the instance, and what `keep` stores of it) in one unit of work, committed by store_after_upstream (a
    database failure is logged, never raised)."""
    store_after_upstream(stage, uuid, partial(_write_outcome, stage, uuid, outcome, keep))


def failure_payload(exc: UpstreamError) -> dict[str, Any]:
    payload: dict[str, Any] = {"request": exc.request, "error": exc.to_dict()}
    if exc.raw is not None:
        payload["response"] = exc.raw
    return payload


def _note_failure(uuid: str, exc: UpstreamError) -> None:
    """What a failure says about the instance beyond its event (added to the unit of work that records it)."""
    if isinstance(exc, UpstreamRefused) and exc.errcode == SECONDARY_ERRCODE:
        # -11025 may answer any call: the account then waits for a person, whichever call saw it first.
        from wxwork_demo.services.monitor.secondary import note_secondary_verification  # monitor imports us

        note_secondary_verification(uuid, exc)


def store_after_upstream(what: str, uuid: str, store: Callable[[], object]) -> bool:
    """Run `store` (database work that follows an upstream call), commit it, and say whether it was stored.

    The unit of work that follows the call ends here: `store` adds to the session and never commits itself.
    A failure is rolled back and logged, never raised: what the upstream did stands. A deadlock or a lock
    wait timeout is tried once more, in a fresh transaction.
    """
    for attempt in (1, 2):
        try:
            store()
            db_session().commit()
            return True
        except DBAPIError as exc:
            _roll_back()
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if attempt == 1 and code in RETRIED_ERRORS:
                continue
            # The driver's message only (never the statement or its parameters: they may hold secrets).
            log.error("%s (instance %s) not recorded, the upstream's answer stands: %s", what, uuid or "-", exc.orig)
            return False
    return False


def _roll_back() -> None:
    try:
        db_session().rollback()
    except DBAPIError:  # the connection may be the thing that broke
        log.debug("rollback after a failed record failed", exc_info=True)


def release_connection() -> None:
    """End the session's read-only transaction before waiting on the upstream.

    Its pooled connection goes back for the webhook and the others instead of waiting with this request until
    the upstream answers (up to its deadline): otherwise a hung upstream and enough business calls hold every
    connection and callbacks queue behind them. A unit of work never calls the upstream while it holds
    uncommitted writes (their locks would be held for the call's length): that is refused with a RuntimeError.
    """
    session = db_session()
    if holds_uncommitted_writes(session):
        raise RuntimeError(
            "an upstream call was made while the unit of work holds uncommitted writes: commit them first, or "
            "make them after the call"
        )
    if session.in_transaction():
        session.commit()


def traced(
    stage: str,
    uuid: str,
    call: Callable[[*Args], Reply],
    *args: *Args,
    failed_stage: str = "",
    keep: Keep | None = None,
) -> Reply:
    """Run one client call, record it, and return its reply (or re-raise its `UpstreamError`).

    A failure is recorded under `failed_stage`, by default `<stage>_error`. `keep` is what the caller stores
    of the outcome (a sent message's ids, or that it failed): it runs in the transaction of the call's event
    row, one commit for both, and adds to the session without committing.
    """
    release_connection()
    try:
        reply = call(*args)
    except UpstreamError as exc:
        count_upstream_call(exc.action, exc.kind)
        record_outcome(failed_stage or stage, uuid, exc, keep)
        raise
    count_upstream_call(reply.action, "ok")
    record_outcome(stage, uuid, reply, keep)
    return reply


def _write_outcome(stage: str, uuid: str, outcome: Reply | UpstreamError, keep: Keep | None) -> None:
    """The event row of a call's outcome and what follows from it, added to the session's transaction; the
    events trim is asked for once that transaction has committed (db.after_commit)."""
    session = db_session()
    if holds_uncommitted_writes(session):  # they would be committed with the event, unseen by their owner
        raise RuntimeError(f"{stage}: an outcome recorded while the unit of work holds uncommitted writes")
    if isinstance(outcome, Reply):
        values = event_values(uuid, stage, outcome.action, reply_payload(outcome))
    else:
        values = event_values(uuid, error_stage(stage), f"{outcome.action}:{outcome.kind}", failure_payload(outcome))
    # A Core INSERT on the session's connection (its transaction): the ORM's object and flush for a row nobody
    # reads back cost more CPU than the statement.
    key = session.connection().execute(INSERT_EVENT, values).inserted_primary_key
    if isinstance(outcome, UpstreamError):
        _note_failure(uuid, outcome)
    if keep is not None:
        keep(outcome)
    after_commit(session, partial(prune_if_due, key[0] if key else None))


def traced_together(
    stage: str, uuid: str, calls: list[tuple[Callable[..., Reply], tuple[Any, ...]]], failed_stage: str = ""
) -> list[Reply | UpstreamError]:
    """Run independent client calls concurrently; record each; return replies or errors in order.

    Only the HTTP calls run in worker threads; the events are written here, in the caller's session.
    """
    release_connection()
    futures = [_executor().submit(call, *args) for call, args in calls]
    outcomes: list[Reply | UpstreamError] = []
    for future in futures:
        try:
            reply = future.result()
        except UpstreamError as exc:
            count_upstream_call(exc.action, exc.kind)
            record_outcome(failed_stage or stage, uuid, exc)
            outcomes.append(exc)
        else:
            count_upstream_call(reply.action, "ok")
            record_outcome(stage, uuid, reply)
            outcomes.append(reply)
    return outcomes


def count_upstream_call(action: str, outcome: str) -> None:
    """One more call of `action` that ended `outcome` (ok, or the error's kind), for /metrics."""
    count(f"{UPSTREAM_CALLS}:{action}:{outcome}"[:64])


def client() -> UpstreamClient:
    """The shared upstream client (re-exported so services import one module for upstream work)."""
    return get_client()


def check_upstream() -> UpstreamCheck:
    """Ping the upstream with GetRunClient: `ok` says whether it answered (a failure is an answer here)."""
    base_url = current_settings().base_url
    try:
        reply = traced("upstream_check", "", client().get_run_client)
    except UpstreamError as exc:
        status = exc.http_status or exc.status
        return UpstreamCheck(ok=False, status=status, base_url=base_url, message=exc.message, raw=exc.raw)
    return UpstreamCheck(ok=True, status=200, base_url=base_url, raw=reply.envelope)
