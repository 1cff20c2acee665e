"""Upstream calls as the services make them: each one recorded in `events`, success or failure.

Stages are the old demo's (local-api.md, "Event stages"): a call's stage (`send_text`) for its reply and
`<stage>_error` (`send_text_error`) for its failure, unless the caller names another (`reconnect_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from wxwork_demo.config import current_settings
from wxwork_demo.contract.status import UpstreamCheck
from wxwork_demo.services.events import record_event
from wxwork_demo.upstream import Reply, UpstreamError, UpstreamRefused, get_client

# "出现二次验证，请重新获取二维码登录" (docs: 00-basic); services/monitor/secondary.py handles it.
SECONDARY_ERRCODE = -11025

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    # Created on first use, never at import or inside create_app (gunicorn forks after import).
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="upstream")
    return _pool


def record_reply(stage: str, uuid: str, reply: Reply) -> None:
    record_event(
        uuid,
        stage,
        reply.action,
        {"request": reply.request, "response": reply.envelope, "elapsedMs": round(reply.elapsed_ms, 1)},
    )


def error_stage(stage: str) -> str:
    """The stage of a failed call: `send_text` -> `send_text_error`."""
    return stage if stage.endswith("_error") else f"{stage}_error"


def record_failure(stage: str, uuid: str, exc: UpstreamError) -> None:
    """Record a failed call under `error_stage(stage)`."""
    payload = {"request": exc.request, "error": exc.to_dict()}
    if exc.raw is not None:
        payload["response"] = exc.raw
    record_event(uuid, error_stage(stage), f"{exc.action}:{exc.kind}", payload)
    if isinstance(exc, UpstreamRefused) and exc.errcode == SECONDARY_ERRCODE:
        # -11025 may answer any call: the account then waits for a person, whichever call saw it first.
        from wxwork_demo.services.monitor.secondary import note_secondary_verification  # monitor imports us

        note_secondary_verification(uuid, exc)


def traced(stage: str, uuid: str, call: Callable[..., Reply], *args, failed_stage: str = "") -> Reply:
    """Run one client call, record it, and return its reply (or re-raise its `UpstreamError`).

    A failure is recorded under `failed_stage`, by default `<stage>_error`.
    """
    try:
        reply = call(*args)
    except UpstreamError as exc:
        record_failure(failed_stage or stage, uuid, exc)
        raise
    record_reply(stage, uuid, reply)
    return reply


def traced_together(
    stage: str, uuid: str, calls: list[tuple[Callable[..., Reply], tuple]], failed_stage: str = ""
) -> list[Reply | UpstreamError]:
    """Run independent client calls concurrently; record each; return replies or errors in order.

    Only the HTTP calls run in worker threads; the events are written here, in the caller's session.
    """
    futures = [_executor().submit(call, *args) for call, args in calls]
    outcomes: list[Reply | UpstreamError] = []
    for future in futures:
        try:
            reply = future.result()
        except UpstreamError as exc:
            record_failure(failed_stage or stage, uuid, exc)
            outcomes.append(exc)
        else:
            record_reply(stage, uuid, reply)
            outcomes.append(reply)
    return outcomes


def client():
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
