"""The storm on PostgreSQL (issue 12): `crisisbot serve` against the same intake committing
each request on its own (`benchmarks/per_request.py`) and against a bare endpoint that commits
each raw body (`benchmarks/baseline_postgres.py`), and one replica against two replicas on one
database with the storm spread over both, in turns, `BENCH_PG_ROUNDS` times (default 3).

Needs a PostgreSQL server: `BENCH_POSTGRES_URL`, else `CRISISBOT_TEST_POSTGRES_URL`
(`postgresql+asyncpg://user@host:port/db`); each run gets a fresh database, dropped afterwards.
`BENCH_PG_ALERTS` (default 10,000) webhooks of one alert each, `BENCH_SENDERS` connections.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from statistics import median

import uvloop
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from benchmarks import load
from benchmarks.__main__ import (
    GROUPS,
    SECRET,
    SENDERS,
    Result,
    cpu_seconds,
    payload,
    peak_rss_mb,
    wait_up,
)
from bot.storage.migrate import upgrade
from tests.serving import free_port

ALERTS = int(os.environ.get("BENCH_PG_ALERTS", "10000"))
ROUNDS = int(os.environ.get("BENCH_PG_ROUNDS", "3"))


def base_url() -> str | None:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("CRISISBOT_TEST_POSTGRES_URL")


async def _execute(url: str, *statements: str) -> list[int]:
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            results = [await connection.execute(text(s)) for s in statements]
            return [int(r.scalar() or 0) if r.returns_rows else 0 for r in results]
    finally:
        await engine.dispose()


@contextmanager
def fresh_database(base: str) -> Iterator[str]:
    name = f"crisisbot_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_execute(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def start(command: list[str], env: dict[str, str], port: int,
          ready: str) -> subprocess.Popen[bytes]:
    # Our own interpreter and module: no untrusted input reaches the command line.
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=None if os.environ.get("BENCH_VERBOSE") else
                               subprocess.DEVNULL)
    wait_up(port, process, ready)
    return process


def replica(url: str, module: str = "bot") -> tuple[subprocess.Popen[bytes], int]:
    """`crisisbot serve` (or `module`, which runs it otherwise) on the database."""
    port = free_port()
    env = {**os.environ, "CRISISBOT_DATABASE_URL": url, "CRISISBOT_PORT": str(port),
           "CRISISBOT_ALERTS__SECRET": SECRET}
    env.pop("CRISISBOT_CONFIG", None)
    command = [sys.executable, "-m", module] + (["serve"] if module == "bot" else [])
    return start(command, env, port, "/healthz"), port


async def storm(ports: Sequence[int]) -> tuple[int, float, list[float]]:
    """The storm's requests dealt out over the servers, each with its share of senders."""
    headers = {"authorization": f"Bearer {SECRET}", "content-type": "application/json"}
    requests = [load.request("/alerts/alertmanager", payload(i), headers) for i in range(ALERTS)]
    shares = await asyncio.gather(*(
        load.fire(port, requests[k::len(ports)], SENDERS // len(ports))
        for k, port in enumerate(ports)))
    latencies = [x for tally, _seconds in shares for x in tally.latencies]
    return sum(t.ok for t, _s in shares), max(s for _t, s in shares), latencies


OTHER_CPU: dict[str, list[tuple[float, float]]] = {}
"""Per run name, per round: CPU ms per accepted alert of the run's PostgreSQL backends and of
the load generator (this process) during the storm, the rest of what it costs the machine."""


def backend_cpu(url: str) -> float:
    """CPU seconds so far of the server processes serving this database's connections (the
    benchmark runs on the database server's machine, so /proc shows them)."""
    pids = asyncio.run(_pids(url))
    return sum(cpu_seconds(pid) for pid in pids)


async def _pids(url: str) -> list[int]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            return [int(pid) for (pid,) in rows]
    finally:
        await engine.dispose()


def measure(name: str, servers: list[tuple[subprocess.Popen[bytes], int]], url: str) -> Result:
    try:
        before = [cpu_seconds(p.pid) for p, _port in servers]
        backends = backend_cpu(url)
        load_before = time.process_time()
        ok, seconds, latencies = uvloop.run(storm([port for _p, port in servers]))
        load_cpu = time.process_time() - load_before
        cpu = sum(cpu_seconds(p.pid) for p, _port in servers) - sum(before)
        # Connections a pool opened during the storm count whole (their start is small).
        backends = backend_cpu(url) - backends
        rss = max(peak_rss_mb(p.pid) for p, _port in servers)
    finally:
        for process, _port in servers:
            process.send_signal(signal.SIGTERM)
        for process, _port in servers:
            process.wait(60)
    OTHER_CPU.setdefault(name, []).append((backends * 1000 / max(ok, 1),
                                           load_cpu * 1000 / max(ok, 1)))
    return Result(name, ok, seconds, latencies, rss, cpu)


PER_REQUEST = "crisisbot, per-request commit"


def crisisbot(base: str, replicas: int,
              per_request: bool = False) -> tuple[Result, tuple[int, int]]:
    with fresh_database(base) as url:
        asyncio.run(upgrade(url))
        if per_request:
            servers = [replica(url, "benchmarks.per_request")]
        else:
            servers = [replica(url) for _ in range(replicas)]
        result = measure(PER_REQUEST if per_request else f"crisisbot x{replicas}", servers, url)
        rows, incidents = asyncio.run(_execute(url, "SELECT count(*) FROM alerts",
                                               "SELECT count(*) FROM incidents"))
    return result, (rows, incidents)


def naive(base: str) -> Result:
    with fresh_database(base) as url:
        port = free_port()
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        server = start([sys.executable, "-m", "benchmarks.baseline_postgres", str(port), dsn],
                       dict(os.environ), port, "/docs")
        return measure("naive per-request commit", [(server, port)], url)


def main() -> int:
    base = base_url()
    if not base:
        print("\nPostgreSQL storm skipped: set BENCH_POSTGRES_URL (or "
              "CRISISBOT_TEST_POSTGRES_URL)")
        return 0
    print(f"\nPostgreSQL storm: {ALERTS} Alertmanager alerts, {SENDERS} senders, {GROUPS} "
          f"groups, {ROUNDS} round(s), each running one replica, the same intake committing "
          "per request, the naive endpoint and two replicas in turn")
    print("\n| round | run | accepted | alerts/s | p50 ms | p99 ms | server CPU ms/alert | "
          "PostgreSQL CPU ms/alert | load CPU ms/alert | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    runs: dict[str, list[Result]] = {}
    stored: list[tuple[str, int, int]] = []
    for round_ in range(1, ROUNDS + 1):
        one, left_one = crisisbot(base, 1)
        same, left_same = crisisbot(base, 1, per_request=True)
        baseline = naive(base)
        two, left_two = crisisbot(base, 2)
        stored += [(one.name, *left_one), (same.name, *left_same), (two.name, *left_two)]
        for r in (one, same, baseline, two):
            runs.setdefault(r.name, []).append(r)
            database, generator = OTHER_CPU[r.name][-1]
            print(f"| {round_} | {r.name} | {r.ok} | {r.rate:.0f} | {r.pct(0.5):.1f} | "
                  f"{r.pct(0.99):.1f} | {r.cpu_ms_per_alert:.3f} | {database:.3f} | "
                  f"{generator:.3f} | {r.peak_rss_mb:.0f} |", flush=True)
    print("\nmedians over the rounds:\n")
    print("| run | alerts/s | p50 ms | p99 ms | server CPU ms/alert | PostgreSQL CPU ms/alert | "
          "load CPU ms/alert | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, results in runs.items():
        other = OTHER_CPU[name]
        print(f"| {name} | {median(r.rate for r in results):.0f} | "
              f"{median(r.pct(0.5) for r in results):.1f} | "
              f"{median(r.pct(0.99) for r in results):.1f} | "
              f"{median(r.cpu_ms_per_alert for r in results):.3f} | "
              f"{median(d for d, _g in other):.3f} | {median(g for _d, g in other):.3f} | "
              f"{max(r.peak_rss_mb for r in results):.0f} |")
    ones, sames, naives, twos = (runs[n] for n in ("crisisbot x1", PER_REQUEST,
                                                   "naive per-request commit", "crisisbot x2"))
    over_same = [a.rate / b.rate for a, b in zip(ones, sames, strict=True)]
    over_naive = [a.rate / b.rate for a, b in zip(ones, naives, strict=True)]
    two_over_one = [b.rate / a.rate for a, b in zip(ones, twos, strict=True)]
    print(f"\nalert rows / incidents after each crisisbot run: {stored} "
          f"(expected: every accepted alert, {GROUPS} incidents)")
    print(f"one replica over the same intake committing each request, per round: "
          f"{', '.join(f'{x:.2f}x' for x in over_same)} (median {median(over_same):.2f}x)")
    print(f"one replica over the naive endpoint, per round: "
          f"{', '.join(f'{x:.2f}x' for x in over_naive)} (median {median(over_naive):.2f}x)")
    print(f"two replicas over one, per round: "
          f"{', '.join(f'{x:.2f}x' for x in two_over_one)} (median {median(two_over_one):.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
