"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending POSTs back to back.

Raw sockets on asyncio (no HTTP library in the loop), so one process drives a few thousand requests a
second on a fraction of one core; it reports its own CPU use so a run can show it was not the bottleneck.

    python -m bench.loadgen --url http://127.0.0.1:8000/callback/wxwork?token=T \
        --connections 16 --duration 10 --warmup 2 --id-base 1000000

Each request body is a WeChat Work message callback (`{"uuid", "type": 102000, "json": "<string>"}`)
whose msg_id/server_id are `id-base + n`, so every request is a distinct callback. The result is one JSON
object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from urllib.parse import urlsplit


def callback_body(n: int, connection: int) -> bytes:
    """A message callback (type 102000) whose ids make it distinct from every other `n`."""
    message = {
        "msgtype": 2,
        "content": f"benchmark message {n}: 你好, the quick brown fox jumps over the lazy dog",
        "sender": 7881302555913738,
        "sender_name": "bench",
        "receiver": 1688853790599424,
        "is_room": False,
        "msg_id": n,
        "server_id": 5_000_000_000 + n,
        "send_time": 1_700_000_000 + n // 1000,
    }
    wrapper = {"uuid": f"bench-uuid-{connection:02d}", "type": 102000, "json": json.dumps(message, ensure_ascii=False)}
    return json.dumps(wrapper, ensure_ascii=False).encode()


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values lie (nearest rank); 0 for no values."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


class Recorder:
    """What the connections saw: per-request completion time, latency and status."""

    def __init__(self) -> None:
        self.done_at: list[float] = []
        self.latency: list[float] = []
        self.started_at: list[float] = []
        self.status: list[int] = []
        self.errors: dict[str, int] = {}

    def add(self, started: float, finished: float, status: int) -> None:
        self.started_at.append(started)
        self.done_at.append(finished)
        self.latency.append(finished - started)
        self.status.append(status)

    def error(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def _connection(
    number: int,
    host: str,
    port: int,
    target: bytes,
    ids,
    id_base: int,
    total: int | None,
    deadline: float,
    recorder: Recorder,
    timeout: float,
) -> None:
    reader = writer = None
    try:
        while True:
            if total is None and time.perf_counter() >= deadline:
                return
            n = next(ids)
            if total is not None and n >= total:
                return
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            body = callback_body(id_base + n, number)
            request = (
                b"POST " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            started = time.perf_counter()
            try:
                writer.write(request)
                status, close = await asyncio.wait_for(_read_response(reader), timeout)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
                recorder.error(exc)
                writer.close()
                reader = writer = None
                continue
            recorder.add(started, time.perf_counter(), status)
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def run(
    url: str,
    connections: int,
    duration: float | None,
    total: int | None,
    warmup: float,
    id_base: int,
    timeout: float = 30.0,
) -> dict:
    """Drive `url` with `connections` keep-alive connections for `duration` s (or `total` requests); a request
    not answered within `timeout` s counts as an error (TimeoutError) and its connection is opened again."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path + ("?" + parts.query if parts.query else "")).encode()
    recorder = Recorder()
    ids = itertools.count()
    cpu_start = os.times()
    began = time.perf_counter()
    deadline = began + (duration or 0) + (warmup if total is None else 0)
    tasks = [
        _connection(c, host, port, target, ids, id_base, total, deadline, recorder, timeout) for c in range(connections)
    ]
    await asyncio.gather(*tasks)
    ended = time.perf_counter()
    cpu_end = os.times()
    cpu = (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system)
    return summarise(recorder, began, ended, warmup if total is None else 0.0, cpu, connections)


def summarise(recorder: Recorder, began: float, ended: float, warmup: float, cpu: float, connections: int) -> dict:
    measured_from = began + warmup
    window = [i for i, started in enumerate(recorder.started_at) if started >= measured_from]
    done = [recorder.done_at[i] for i in window]
    latencies = sorted(recorder.latency[i] for i in window)
    ok_window = sum(1 for i in window if 200 <= recorder.status[i] < 300)
    span = (max(done) - measured_from) if done else 0.0
    ordered = sorted(recorder.done_at)
    statuses: dict[str, int] = {}
    for status in recorder.status:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "connections": connections,
        "requests": len(recorder.latency),
        "statuses": statuses,
        "ok_total": sum(1 for status in recorder.status if 200 <= status < 300),
        "errors": recorder.errors,
        "wall_s": ended - began,
        "window_s": span,
        "window_requests": len(window),
        "window_ok": ok_window,
        "rps": ok_window / span if span > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else 0.0,
        "generator_cpu_s": cpu,
        "generator_cores": cpu / (ended - began) if ended > began else 0.0,
        "decile_rps": _decile_rates(ordered, began),
        "decile_ends": _decile_ends(ordered, began),
    }


def _decile_ends(done_sorted: list[float], began: float) -> list[float]:
    """perf_counter() (system-wide monotonic) at the start and at the end of each tenth of the completions."""
    n = len(done_sorted)
    if n < 20:
        return []
    return [began, *(done_sorted[(n * k) // 10 - 1] for k in range(1, 11))]


def _decile_rates(done_sorted: list[float], began: float) -> list[float]:
    """Completions per second in each tenth of the run, by completion order (first 10% ... last 10%)."""
    n = len(done_sorted)
    if n < 20:
        return []
    rates = []
    previous = began
    for k in range(1, 11):
        end_index = (n * k) // 10 - 1
        start_index = (n * (k - 1)) // 10
        end = done_sorted[end_index]
        count = end_index - start_index + 1
        rates.append(count / (end - previous) if end > previous else 0.0)
        previous = end
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, help="seconds to measure (after --warmup)")
    parser.add_argument("--requests", type=int, help="send exactly this many requests instead of a duration")
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--id-base", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each answer")
    args = parser.parse_args(argv)
    if (args.duration is None) == (args.requests is None):
        parser.error("give exactly one of --duration and --requests")
    result = asyncio.run(
        run(args.url, args.connections, args.duration, args.requests, args.warmup, args.id_base, args.timeout)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
