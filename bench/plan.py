"""What a benchmark run measures and how much of it (Plan), and what it found (Run)."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field

# The two events tables every intake figure is measured with: the retention bound of the old benchmark,
# and a realistic table (the trim must not cost more as the table grows).
SMALL_TABLE = "small"
LARGE_TABLE = "large"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    max_events: int
    prefill_rows: int


@dataclass(frozen=True)
class Plan:
    quick: bool
    connections: int = 16
    intake_rounds: int = 3
    intake_seconds: float = 8.0
    intake_warmup: float = 2.0
    large_table_rows: int = 200_000
    api_seconds: float = 15.0
    stalled_connections: int = 64
    stall_seconds: float = 8.0
    monitor_sizes: tuple[int, ...] = (1000, 5000, 20_000)
    monitor_latency_ms: int = 100
    # MONITOR_CONCURRENCY of the monitor benchmark; 0: the app's default (config.py).
    monitor_concurrency: int = 0
    retention_callbacks: int = 20_000

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if not quick:
            return cls(quick=False)
        return cls(
            quick=True,
            intake_rounds=1,
            intake_seconds=3.0,
            intake_warmup=1.0,
            api_seconds=4.0,
            stall_seconds=3.0,
            monitor_sizes=(100, 1000),
            retention_callbacks=5_000,
        )

    @property
    def scenarios(self) -> tuple[Scenario, Scenario]:
        return (
            Scenario(SMALL_TABLE, "MAX_EVENTS=100 (events trimmed to 100 rows)", 100, 0),
            Scenario(
                LARGE_TABLE,
                f"events pre-filled with {self.large_table_rows:,} rows, MAX_EVENTS=1,000,000",
                1_000_000,
                self.large_table_rows,
            ),
        )


@dataclass
class Run:
    """Everything a run found, for the report (bench/report.py)."""

    plan: Plan
    started: float = field(default_factory=time.time)
    machine: dict = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    results: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        line = " ".join(shlex.quote(a) for a in argv)
        self.commands.append(f"{shown} {line}".strip())

    def check(self, ok: bool, message: str) -> None:
        """Something incorrect (a lost callback, a failed request): the run exits 1."""
        if not ok:
            self.failures.append(message)
            log(f"FAIL: {message}")

    def target(self, ok: bool, message: str) -> str:
        """A timing target: "met", or noted as missed (the run exits 1 only with --strict)."""
        if not ok:
            self.misses.append(message)
        return "met" if ok else "**missed**"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ratio(value: float, base: float) -> float:
    return value / base if base else 0.0


def pct(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]
