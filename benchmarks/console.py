"""The web console (issue 15): the incident list with 10,000 incidents, and how fast a timeline
event reaches an open room. The app is built as `crisisbot serve` builds it (uvicorn on
loopback, SQLite), without its background work (the seeded incidents have no chat to deliver
to); the incidents are written straight into the tables, as years of use would leave them.

- **list**: `GET /` as a signed-in person (100 rows shown, open incidents first), one request
  at a time; baseline: `GET /healthz` on the same server (a database ping and a JSON answer),
  the floor of one request through the same stack.
- **event -> open room**: a page's change stream (`/live`) is open; a `/crisis note` is sent
  through the room's Command box; measured from the start of that POST to the `change` event
  on the stream. Baseline: the POST's own answer (the command run and committed).

Environment: BENCH_CONSOLE_INCIDENTS (default 10000), BENCH_CONSOLE_REQUESTS (default 200),
BENCH_CONSOLE_EVENTS (default 100). Run alone: `python -m benchmarks.console`.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, insert

from bot.app.console import sign_in_links
from bot.app.web import web_app
from bot.app.wiring import build
from bot.core.models import CrisisKind, Severity, Status
from bot.settings import load
from bot.storage.sql.tables import IncidentRow, RoleRow
from tests.serving import serve

INCIDENTS = int(os.environ.get("BENCH_CONSOLE_INCIDENTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_CONSOLE_REQUESTS", "200"))
EVENTS = int(os.environ.get("BENCH_CONSOLE_EVENTS", "100"))


def seed(path: Path, count: int) -> None:
    """`count` incidents, one in ten still open, each with a commander."""
    now = datetime.now(UTC)
    kinds, severities = list(CrisisKind), list(Severity)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(insert(IncidentRow), [
            {"number": n, "title": f"Incident {n}: mentions about the product",
             "kind": kinds[n % len(kinds)].value, "severity": severities[n % 4].value,
             "status": (Status.ACKNOWLEDGED if n % 10 == 0 else Status.RESOLVED).value,
             "created_at": now - timedelta(minutes=count - n), "created_by": "local:alice",
             "platform": "local", "drill": n % 50 == 0}
            for n in range(1, count + 1)])
        connection.execute(insert(RoleRow), [
            {"incident": n, "position": 0, "role": "commander", "person": "local:alice"}
            for n in range(1, count + 1)])
        connection.exec_driver_sql(
            "UPDATE counters SET value = ? WHERE name = 'incident'", (count,))
    engine.dispose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(folder: Path) -> dict[str, list[float]]:
    path = folder / "console.db"
    settings = load(database_url=f"sqlite+aiosqlite:///{path}")
    bot = await build(settings)  # migrates
    seed(path, INCIDENTS)
    serving = await serve(web_app(bot), lifespan="off")
    timings: dict[str, list[float]] = {"list": [], "healthz": [], "event": [], "command": []}
    try:
        link = urlsplit(await sign_in_links(bot).issue("local:alice", timedelta(minutes=5)))
        async with httpx.AsyncClient(base_url=serving.url, timeout=30) as client:
            page = await client.get(link.path)
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            if csrf is None:
                raise RuntimeError("the sign-in page has no CSRF token")
            await client.post(link.path, data={"csrf": csrf.group(1)})
            for _ in range(REQUESTS):
                for name, route in (("list", "/"), ("healthz", "/healthz")):
                    started = time.perf_counter()
                    answer = await client.get(route)
                    timings[name].append(time.perf_counter() - started)
                    answer.raise_for_status()
            await live(client, timings)
    finally:
        await serving.stop()
        await bot.close()
    return timings


async def live(client: httpx.AsyncClient, timings: dict[str, list[float]]) -> None:
    room = await client.get(f"/incidents/{INCIDENTS}")
    mark = re.search(r'data-since="(\d+)"', room.text)
    token = re.search(r'name="csrf" content="([^"]+)"', room.text)
    if mark is None or token is None:
        raise RuntimeError("the room has no change mark or CSRF token")
    csrf = token.group(1)
    async with client.stream("GET", f"/live?since={mark.group(1)}") as stream:
        lines = stream.aiter_lines()
        await anext(lines)  # "retry: 500"
        for i in range(EVENTS):
            started = time.perf_counter()
            answer = await client.post(f"/incidents/{INCIDENTS}/command",
                                       data={"line": f"/crisis note bench {i}", "csrf": csrf})
            timings["command"].append(time.perf_counter() - started)
            answer.raise_for_status()
            while not (await anext(lines)).startswith("event: change"):
                pass
            timings["event"].append(time.perf_counter() - started)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="crisisbot-bench-console-") as scratch:
        timings = asyncio.run(run(Path(scratch)))
    print(f"\nweb console: {INCIDENTS} incidents, {REQUESTS} list requests, {EVENTS} events")
    print("| measured | p50 ms | p95 ms | baseline | baseline p50 ms | baseline p95 ms "
          "| p95 ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, base, label, base_label in (
            ("list", "healthz", f"`GET /` ({INCIDENTS} incidents)", "`GET /healthz`"),
            ("event", "command", "event -> open room", "the command's own answer")):
        ours, floor = timings[name], timings[base]
        print(f"| {label} | {pct(ours, 0.5):.1f} | {pct(ours, 0.95):.1f} | {base_label} | "
              f"{pct(floor, 0.5):.1f} | {pct(floor, 0.95):.1f} | "
              f"{pct(ours, 0.95) / pct(floor, 0.95):.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
