"""Target 3: `/api/send-text` through the app against `SendTextMsg` straight to the simulator, while 16
connections of callbacks load the app: the latency the app adds to an API call when the webhook is busy.

The load runs in a process of its own (bench/loadgen.py); the API calls alternate app / direct on one
keep-alive connection each, so both sides see the same moment of the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.client import HTTPConnection

import requests

from bench import database, procs
from bench.intake import Contender
from bench.plan import Run, log, pct

USER_ID = 7881302555913738
WARMUP_CALLS = 50
UNLOADED_CALLS = 300


def timed_post(connection: HTTPConnection, path: str, body: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return time.perf_counter() - started, response.status


def logged_in_instance(sim: procs.Server, database_url: str) -> str:
    """A simulator instance logged in, and its session row in the app's database: its uuid."""
    [instance] = requests.post(f"{sim.url}/_sim/bulk-login", json={"count": 1}, timeout=30).json()["instances"]
    database.execute(
        database_url,
        "INSERT INTO sessions (uuid, vid, is_login, state, last_event, updated_at, callback_registered_at)"
        " VALUES (%s, %s, 1, 'online', 'login-success', UTC_TIMESTAMP(), UTC_TIMESTAMP(6))",
        (instance["uuid"], str(instance["vid"])),
    )
    return instance["uuid"]


Call = tuple[str, HTTPConnection, str, bytes]  # (name, connection, path, body)


@dataclass
class PairedCalls:
    """The same send-text through the app and straight to the simulator, turn about (the order turning each
    round), timed after WARMUP_CALLS rounds."""

    calls: tuple[Call, ...]
    rounds: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"direct": [], "app": []})
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: {"direct": {}, "app": {}})

    def round(self) -> None:
        for name, connection, path, body in self.calls if self.rounds % 2 == 0 else reversed(self.calls):
            elapsed, status = timed_post(connection, path, body)
            self.statuses[name][status] = self.statuses[name].get(status, 0) + 1
            if self.rounds >= WARMUP_CALLS:
                self.latencies[name].append(elapsed * 1000)
        self.rounds += 1

    def figures(self) -> dict:
        """p50 / p99 of each side, and what the app adds to each."""
        found = {name: {"p50": pct(v, 0.5), "p99": pct(v, 0.99)} for name, v in self.latencies.items()}
        return {
            **found,
            "added_p50": found["app"]["p50"] - found["direct"]["p50"],
            "added_p99": found["app"]["p99"] - found["direct"]["p99"],
        }


def _unloaded(app: Contender, calls: tuple[Call, ...]) -> dict:
    """The same calls with no load: what the app adds to a send-text on an idle machine (the floor of what it
    adds under load), and the CPU its workers spend per send-text."""
    pairs = PairedCalls(calls)
    workers = app.server.workers()
    cpu = 0.0
    while pairs.rounds < WARMUP_CALLS + UNLOADED_CALLS:
        if pairs.rounds == WARMUP_CALLS:
            cpu = procs.cpu_seconds(workers)
        pairs.round()
    if any(status != 200 for each in pairs.statuses.values() for status in each):
        raise RuntimeError(f"api: unloaded send-texts not answered 200: {pairs.statuses}")
    return {
        **pairs.figures(),
        "calls": UNLOADED_CALLS,
        "worker_cpu_ms": (procs.cpu_seconds(workers) - cpu) / UNLOADED_CALLS * 1000,
    }


def bench_api_under_load(run: Run, app: Contender, sim: procs.Server, database_url: str) -> None:
    plan = run.plan
    log(f"api: send-text through {app.label} vs direct, for {plan.api_seconds:.0f} s of webhook load")
    uuid = logged_in_instance(sim, database_url)
    direct_body = json.dumps({"uuid": uuid, "kf_id": 0, "send_userid": USER_ID, "isRoom": False, "content": "hi"})
    app_body = json.dumps({"uuid": uuid, "send_userid": USER_ID, "isRoom": False, "content": "hi"})
    to_sim = HTTPConnection("127.0.0.1", sim.port, timeout=30)
    to_app = HTTPConnection("127.0.0.1", app.server.port, timeout=30)
    calls = (
        ("direct", to_sim, "/wxwork/SendTextMsg", direct_body.encode()),
        ("app", to_app, "/api/send-text", app_body.encode()),
    )
    unloaded = _unloaded(app, calls)
    argv = [
        sys.executable,
        *("-m", "bench.loadgen", "--url", app.url, "--connections", str(plan.connections)),
        *("--duration", str(plan.api_seconds), "--warmup", "1", "--id-base", "8000000000"),
    ]
    run.command(argv)
    pairs = PairedCalls(calls)
    load = subprocess.Popen(argv, cwd=procs.PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # the load's own warm-up
        while load.poll() is None:
            pairs.round()
        webhook = json.loads(load.communicate()[0])
    finally:
        if load.poll() is None:
            load.kill()
        to_sim.close()
        to_app.close()
    for name, statuses in pairs.statuses.items():
        bad = sum(v for k, v in statuses.items() if k != 200)
        run.target(bad == 0, f"api: {bad} {name} send-text calls not answered 200: {statuses}")
    server_errors = sum(v for k, v in webhook["statuses"].items() if int(k) >= 500)
    run.target(server_errors == 0, f"api: the webhook load got {server_errors} 5xx answers")
    run.results["api"] = {
        **pairs.figures(),
        "server": app.label,
        "calls": len(pairs.latencies["app"]),
        "statuses": {name: dict(s) for name, s in pairs.statuses.items()},
        "webhook_rps": webhook["rps"],
        "webhook_p99": webhook["p99_ms"],
        "webhook_statuses": webhook["statuses"],
        "unloaded": unloaded,
    }
    r = run.results["api"]
    log(
        f"  {r['calls']} calls each; added latency p50 {r['added_p50']:.2f} ms, p99 {r['added_p99']:.2f} ms; "
        f"webhook {r['webhook_rps']:.0f}/s meanwhile"
    )
