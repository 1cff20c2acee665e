"""Target 4: slow peers. Callbacks (16 connections) and `/api/health` (one connection, call after call), first
alone, then with 64 more connections that each sent the start of a request and then nothing: their p99 must
stay within 2× of the first figure, and the server must close every stalled connection after a bounded
time (its keep-alive / header timeout setting), not hold it for ever.
"""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from http.client import HTTPConnection

from bench import procs
from bench.intake import Contender
from bench.plan import Run, log, pct, ratio

# A request whose headers never end: what a client on a dead link, or a slowloris, leaves behind.
HEALTH_TIMEOUT_S = 10
STALLED_REQUEST = b"POST /callback/wxwork HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


class StalledClients(threading.Thread):
    """`count` connections that sent STALLED_REQUEST; notes when the server closes each one."""

    def __init__(self, port: int, count: int) -> None:
        super().__init__(daemon=True)
        self.opened_at = time.monotonic()
        self.sockets = []
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(STALLED_REQUEST)
            client.setblocking(False)
            self.sockets.append(client)
        self.closed_after: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for client in self.sockets:
                selector.register(client, selectors.EVENT_READ)
            open_ = len(self.sockets)
            while open_ and not self.stopping.is_set():
                for key, _ in selector.select(timeout=0.2):
                    try:
                        data = key.fileobj.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:  # an error answer (408/400): the close follows
                        continue
                    selector.unregister(key.fileobj)
                    self.closed_after.append(time.monotonic() - self.opened_at)
                    open_ -= 1

    def close(self) -> None:
        self.stopping.set()
        self.join(5)
        for client in self.sockets:
            client.close()


def measure(run: Run, app: Contender, seconds: float, id_base: int) -> dict:
    """Callbacks at 16 connections and /api/health call after call, for `seconds`: their latencies."""
    argv = [
        sys.executable,
        *("-m", "bench.loadgen", "--url", app.url, "--connections", str(run.plan.connections)),
        *("--duration", str(seconds), "--warmup", "1", "--id-base", str(id_base), "--timeout", str(HEALTH_TIMEOUT_S)),
    ]
    load = subprocess.Popen(argv, cwd=procs.PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    health: list[float] = []
    statuses: dict[int | str, int] = {}
    connection = HTTPConnection("127.0.0.1", app.server.port, timeout=HEALTH_TIMEOUT_S)
    try:
        time.sleep(1)
        while load.poll() is None:
            started = time.perf_counter()
            try:
                connection.request("GET", "/api/health")
                response = connection.getresponse()
                response.read()
                status: int | str = response.status
            except OSError as exc:  # no answer in time: counted at the time it was given up
                status = type(exc).__name__
                connection.close()
            health.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        callbacks = json.loads(load.communicate()[0])
    finally:
        if load.poll() is None:
            load.kill()
        connection.close()
    # Unanswered calls are target 4's miss (the default server's), not a loss: the other candidates' are
    # figures of the comparison.
    check = run.target if app.default else (lambda ok, message: None)
    check(set(statuses) == {200}, f"slow peers: /api/health answered {statuses}")
    check(callbacks["ok_total"] == callbacks["requests"], f"slow peers: callbacks answered {callbacks['statuses']}")
    return {
        "callbacks_rps": callbacks["rps"],
        "callbacks_p99": callbacks["p99_ms"],
        "health_p50": pct(health, 0.5),
        "health_p99": pct(health, 0.99),
        "health_calls": len(health),
        "health_statuses": {str(k): v for k, v in statuses.items()},
        "callback_errors": callbacks["errors"],
    }


def bench_slow_peers(run: Run, app: Contender, close_within_s: float, setting: str) -> None:
    plan = run.plan
    count = plan.stalled_connections
    log(f"slow peers: {app.label}, {plan.stall_seconds:.0f} s alone, then with {count} stalled connections")
    # Distinct callbacks for every server and phase: the app's servers share one dedup table.
    id_base = 7_000_000_000 + 200_000_000 * len(run.results.get("slow_peers", {}))
    alone = measure(run, app, plan.stall_seconds, id_base)
    stalled = StalledClients(app.server.port, count)
    stalled.start()
    try:
        loaded = measure(run, app, plan.stall_seconds, id_base + 100_000_000)
        # Every stalled connection is to be closed by the server within its setting (and a second of slack).
        deadline = stalled.opened_at + close_within_s + 1
        while len(stalled.closed_after) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        closed = list(stalled.closed_after)
    finally:
        stalled.close()
    run.results.setdefault("slow_peers", {})[app.key] = {
        "server": app.label,
        "default": app.default,
        "stalled": count,
        "alone": alone,
        "loaded": loaded,
        "callbacks_p99_ratio": ratio(loaded["callbacks_p99"], alone["callbacks_p99"]),
        "health_p99_ratio": ratio(loaded["health_p99"], alone["health_p99"]),
        "closed": len(closed),
        "closed_max_s": max(closed, default=0.0),
        "close_within_s": close_within_s,
        "setting": setting,
    }
    r = run.results["slow_peers"][app.key]
    log(
        f"  p99 callbacks {alone['callbacks_p99']:.1f} -> {loaded['callbacks_p99']:.1f} ms, health "
        f"{alone['health_p99']:.1f} -> {loaded['health_p99']:.1f} ms; {r['closed']}/{count} stalled connections "
        f"closed by the server (last after {r['closed_max_s']:.1f} s)"
    )
