"""Prometheus metrics, in its text format, the same whichever worker or process is asked.

The counters live in the database (`counters`, services/intake/counters.py): each process counts in memory and
a chore adds its counts within a second, so the web workers, `wxwork monitor run` and the CLI all add to the
same numbers, and a worker that restarts loses none. (prometheus-client's multiprocess mode would need a shared
folder per host, cleaned at each start, and still miss the monitor's own process on another host.) A scrape
first writes what this process counted, then reads the table; the gauges are read from the tables themselves.

- wxwork_callbacks_total{outcome}: callbacks taken in (accepted), redelivered (duplicate), refused (refused);
- wxwork_upstream_calls_total{action,outcome}: upstream calls, outcome ok or the error's kind;
- wxwork_monitor_reconnects_total{outcome}: reconnect attempts, online or failed;
- wxwork_instances{state}: instances (accounts' sessions) by state;
- wxwork_events: rows in the events log;
- wxwork_callback_store_microseconds_total: time spent storing callbacks (over wxwork_callbacks_total's
  accepted and duplicate, the intake's mean latency: rate(...) / rate(...));
- wxwork_monitor_last_pass_milliseconds: how long the monitor's last complete check pass took.

May call: counters, the lease, db, models. Never records anything.
"""

from __future__ import annotations

from sqlalchemy import func, select

from wxwork_demo.db import db_session
from wxwork_demo.models import Event, Instance
from wxwork_demo.services.instances.state import STATES
from wxwork_demo.services.intake.callbacks import CALLBACK_STORE_US
from wxwork_demo.services.intake.counters import all_counters, flush_counts
from wxwork_demo.services.monitor.lease import lease_row

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CALLBACK_OUTCOMES = {
    "callbacks_accepted": "accepted",
    "callbacks_duplicate": "duplicate",
    "callbacks_rejected": "refused",
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], int]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        shown = ",".join(f'{key}="{_label(text)}"' for key, text in labels.items())
        lines.append(f"{name}{{{shown}}} {value}" if shown else f"{name} {value}")
    return lines


def render_metrics() -> str:
    """Every metric in Prometheus' text format (version 0.0.4)."""
    flush_counts()  # this process's counts first, so a scrape right after an event sees it
    counters = all_counters()
    callbacks = [({"outcome": outcome}, counters.get(name, 0)) for name, outcome in CALLBACK_OUTCOMES.items()]
    calls, reconnects = [], []
    for name, value in sorted(counters.items()):
        kind, _, rest = name.partition(":")
        if kind == "upstream_calls":
            action, _, outcome = rest.rpartition(":")
            calls.append(({"action": action, "outcome": outcome}, value))
        elif kind == "monitor_reconnects":
            reconnects.append(({"outcome": rest}, value))
    by_state = dict(db_session().execute(select(Instance.state, func.count()).group_by(Instance.state)).all())
    instances = [({"state": state}, by_state.get(state, 0)) for state in STATES]
    events = db_session().scalar(select(func.count()).select_from(Event)) or 0
    store_us: list[tuple[dict[str, str], int]] = [({}, counters.get(CALLBACK_STORE_US, 0))]
    lease = lease_row()
    last_pass: list[tuple[dict[str, str], int]] = []
    if lease and lease.pass_started_at and lease.pass_finished_at and lease.pass_finished_at >= lease.pass_started_at:
        last_pass = [({}, int((lease.pass_finished_at - lease.pass_started_at).total_seconds() * 1000))]
    lines = [
        *_family("wxwork_callbacks_total", "counter", "Callbacks received at the webhook, by outcome.", callbacks),
        *_family("wxwork_upstream_calls_total", "counter", "Upstream calls, by action and outcome.", calls),
        *_family("wxwork_monitor_reconnects_total", "counter", "Reconnect attempts, by outcome.", reconnects),
        *_family("wxwork_instances", "gauge", "Upstream instances of accounts, by state.", instances),
        *_family("wxwork_events", "gauge", "Rows in the events log.", [({}, events)]),
        *_family("wxwork_callback_store_microseconds_total", "counter", "Time spent storing callbacks.", store_us),
        *_family(
            "wxwork_monitor_last_pass_milliseconds", "gauge", "Duration of the last complete check pass.", last_pass
        ),
    ]
    return "\n".join(lines) + "\n"
