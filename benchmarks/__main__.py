"""The alert storm of issue 3, run against `crisisbot serve` and the two baselines in one run.

N Alertmanager webhooks (one alert each, 90% in one group, the rest over 9 more groups) from 32
concurrent senders over loopback; reports accepted alerts/s, p50/p99 latency, incidents opened,
chat messages sent, alert rows counted after the run, and the server's peak RSS.
Environment: BENCH_ALERTS (default 20000), BENCH_SENDERS (default 32), BENCH_ROUNDS (default 5:
the shared machine's speed drifts between runs, so the three servers take turns and the
medians and per-round ratios are reported).

Then the Slack latencies of issue 4 (`benchmarks/slack.py`): alert -> channel and summary,
slash-command ack, against the fake Slack Web API; BENCH_SKIP_SLACK=1 leaves them out. Then the
Telegram webhook latency under a burst of commands (issue 11, `benchmarks/telegram.py`);
BENCH_SKIP_TELEGRAM=1 leaves it out. Before them, the storm on PostgreSQL
(`benchmarks/postgres.py`; BENCH_SKIP_POSTGRES=1 leaves it out, and it skips itself without
BENCH_POSTGRES_URL / CRISISBOT_TEST_POSTGRES_URL).
Then the web console of issue 15 (`benchmarks/console.py`); BENCH_SKIP_CONSOLE=1 leaves it out.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import httpx
import uvloop

from benchmarks import load
from tests.serving import free_port

SECRET = "bench-secret"  # noqa: S105 - a throwaway server on loopback
ALERTS = int(os.environ.get("BENCH_ALERTS", "20000"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "32"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
GROUPS = 10


@dataclass
class Result:
    name: str
    ok: int
    seconds: float
    latencies: list[float]
    peak_rss_mb: float
    cpu_seconds: float

    @property
    def cpu_ms_per_alert(self) -> float:
        return self.cpu_seconds * 1000 / max(self.ok, 1)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def group_of(i: int) -> str:
    return "storm" if i % 10 else f"other-{(i // 10) % (GROUPS - 1)}"


def payload(i: int) -> bytes:
    group = group_of(i)
    return json.dumps({
        "version": "4", "groupKey": group, "status": "firing", "receiver": "crisisbot",
        "commonLabels": {"alertname": "Storm"},
        "alerts": [{"status": "firing",
                    "labels": {"alertname": "Storm", "severity": "critical",
                               "instance": f"web-{i}"},
                    "annotations": {"summary": f"Checkout errors ({group})"},
                    "startsAt": "2024-05-14T09:00:00Z", "fingerprint": f"fp{i}"}],
    }).encode()


def wait_up(port: int, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not come up")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def storm(port: int) -> tuple[int, float, list[float]]:
    headers = {"authorization": f"Bearer {SECRET}", "content-type": "application/json"}
    requests = [load.request("/alerts/alertmanager", payload(i), headers) for i in range(ALERTS)]
    tally, seconds = await load.fire(port, requests, SENDERS)
    return tally.ok, seconds, tally.latencies


def run(name: str, command: list[str], env: dict[str, str], port: int,
        ready: str) -> Result:
    # Our own interpreter and module: no untrusted input reaches the command line.
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,  # noqa: S603
                               stderr=None if os.environ.get("BENCH_VERBOSE") else
                               subprocess.DEVNULL)
    try:
        wait_up(port, process, ready)
        cpu_before = cpu_seconds(process.pid)
        ok, seconds, latencies = uvloop.run(storm(port))
        cpu = cpu_seconds(process.pid) - cpu_before
        rss = peak_rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    return Result(name, ok, seconds, latencies, rss, cpu)


@dataclass
class Counted:
    """What one crisisbot run left in its database."""

    rows: int
    incidents: int
    messages: int | None


def crisisbot(db: Path) -> tuple[Result, Counted]:
    port = free_port()
    env = {**os.environ, "CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "CRISISBOT_PORT": str(port), "CRISISBOT_ALERTS__SECRET": SECRET}
    env.pop("CRISISBOT_CONFIG", None)
    result = run("crisisbot serve", [sys.executable, "-m", "bot", "serve"], env, port,
                 "/healthz")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select count(*) from alerts").fetchone()[0]
        incidents = conn.execute("select count(*) from incidents").fetchone()[0]
        messages = conn.execute("select count(*) from notices where delivered_at is not null"
                                ).fetchone()[0] if _has(conn, "notices") else None
    return result, Counted(rows, incidents, messages)


def baseline(mode: str, db: Path) -> Result:
    port = free_port()
    return run(f"baseline {mode}", [sys.executable, "-m", "benchmarks.baseline", mode,
                                    str(port), str(db)], dict(os.environ), port, "/docs")


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="crisisbot-bench-"))
    print(f"storm: {ALERTS} Alertmanager alerts, {SENDERS} senders, {GROUPS} groups, "
          f"{ROUNDS} round(s), each running crisisbot and both baselines in turn")
    print("\n| round | run | accepted | alerts/s | p50 ms | p99 ms | server CPU ms/alert | "
          "peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    runs: dict[str, list[Result]] = {}
    counted: list[Counted] = []
    for round_ in range(1, ROUNDS + 1):
        served, left = crisisbot(scratch / f"crisisbot-{round_}.db")
        counted.append(left)
        for r in (served, baseline("insert", scratch / f"insert-{round_}.db"),
                  baseline("noop", scratch / f"noop-{round_}.db")):
            runs.setdefault(r.name, []).append(r)
            print(f"| {round_} | {r.name} | {r.ok} | {r.rate:.0f} | {r.pct(0.5):.1f} | "
                  f"{r.pct(0.99):.1f} | {r.cpu_ms_per_alert:.3f} | {r.peak_rss_mb:.0f} |",
                  flush=True)
    print("\nmedians over the rounds:\n")
    print("| run | alerts/s | p50 ms | p99 ms | server CPU ms/alert | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for name, results in runs.items():
        print(f"| {name} | {median(r.rate for r in results):.0f} | "
              f"{median(r.pct(0.5) for r in results):.1f} | "
              f"{median(r.pct(0.99) for r in results):.1f} | "
              f"{median(r.cpu_ms_per_alert for r in results):.3f} | "
              f"{max(r.peak_rss_mb for r in results):.0f} |")
    ours, insert = runs["crisisbot serve"], runs["baseline insert"]
    ratios = [a.rate / b.rate for a, b in zip(ours, insert, strict=True)]
    print(f"\nalert rows after each run: {[c.rows for c in counted]} "
          f"(lost: {sum(r.ok for r in ours) - sum(c.rows for c in counted)})")
    print(f"incidents opened: {[c.incidents for c in counted]} (distinct groups: {GROUPS})")
    print(f"chat notices delivered: {[c.messages for c in counted]}")
    print(f"speed-up over per-request commit, per round: "
          f"{', '.join(f'{x:.2f}x' for x in ratios)} (median {median(ratios):.2f}x)")
    result = 0
    if not os.environ.get("BENCH_SKIP_POSTGRES"):
        from benchmarks import postgres  # needs a PostgreSQL server; says so when there is none

        postgres.main()
    if not os.environ.get("BENCH_SKIP_SLACK"):
        from benchmarks import slack  # the test harness: imported only when it runs

        result = slack.main() or result
    if not os.environ.get("BENCH_SKIP_TELEGRAM"):
        from benchmarks import telegram

        telegram.main()
    if not os.environ.get("BENCH_SKIP_CONSOLE"):
        from benchmarks import console

        result = console.main() or result
    return result


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", (table,)).fetchone() \
        is not None


if __name__ == "__main__":
    raise SystemExit(main())
