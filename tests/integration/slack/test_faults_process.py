"""`crisisbot serve` as a real process against the fake Slack: killed with SIGKILL between
creating an incident's channel and recording it, the restarted process adopts that channel
(no `-2` twin); and on a database it cannot write it refuses to start, in one line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import until
from tests.processes import healthy, process_env, start_serve_async
from tests.serving import free_port

SECRET = "alert-secret"


async def spawn(db: str, port: int, fake: FakeSlack, *,
                stderr: int = asyncio.subprocess.DEVNULL,
                **extra: str) -> asyncio.subprocess.Process:
    """`serve` on `db` against the fake Slack, with short timeouts and lease; its stderr kept
    only when asked for (`PIPE`: a pipe left unread would fill and stall a long-running one)."""
    settings = {
        "CRISISBOT_DATABASE_URL": db, "CRISISBOT_PORT": str(port),
        "CRISISBOT_ALERTS__SECRET": SECRET, "CRISISBOT_SLACK__BOT_TOKEN": "xoxb-test",
        "CRISISBOT_SLACK__SIGNING_SECRET": "s3cr3t", "CRISISBOT_SLACK__API_URL":
        f"{fake.url}/api/", "CRISISBOT_SLACK__TIMEOUT": "1", "CRISISBOT_TELEGRAM__TIMEOUT": "1",
        "CRISISBOT_OUTBOX__LEASE": "12", "CRISISBOT_OUTBOX__POLL": "0.2"}
    return await start_serve_async(process_env(**{**settings, **extra}),
                                   stderr=stderr)


ON_EITHER_DATABASE = pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])


def database_url(database: str, path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh SQLite file at `path`, or the test PostgreSQL database."""
    return (f"sqlite+aiosqlite:///{path}" if database == "sqlite"
            else str(request.getfixturevalue("postgres_url")))


async def post_alert(port: int, title: str, severity: str) -> None:
    """A generic alert to `serve` on `port`, accepted."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://127.0.0.1:{port}/alerts/generic",
                                 json={"title": title, "severity": severity},
                                 headers={"Authorization": f"Bearer {SECRET}"})
    assert answer.status_code == 200


@pytest.mark.slow
@ON_EITHER_DATABASE
async def test_kill_9_between_creating_the_channel_and_recording_it(
        tmp_path: Path, fake: FakeSlack, database: str, request: pytest.FixtureRequest) -> None:
    """On PostgreSQL a second replica runs beside the killed one and finishes the opening."""
    db = database_url(database, tmp_path / "k.db", request)
    port = free_port()
    fake.hang("conversations.setTopic", 60.0)  # created, not yet recorded: kill it here
    first = await spawn(db, port, fake)
    replica = await spawn(db, free_port(), fake) if database == "postgres" else None
    try:
        await healthy(port, first)
        await post_alert(port, "Kill me", "high")
        await until(lambda: fake.called("conversations.setTopic"), within=20)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    fake.failures.clear()
    second = replica or await spawn(db, port, fake)
    try:
        room = await until(lambda: [c for c in fake.channels.values() if c.pins], within=40)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    [room] = room
    assert [c.name for c in fake.channels.values()] == ["crisis-1-kill-me"]
    assert "INC-1" in room.purpose
    assert len([m for m in room.messages if m.text.startswith("INC-1: Kill me")]) == 1
    assert [a["name"] for a in fake.called("conversations.create")] == ["crisis-1-kill-me"] * 2


async def test_serve_refuses_a_database_it_cannot_write(tmp_path: Path,
                                                        fake: FakeSlack) -> None:
    """A read-only database (here opened read-only; the same for a read-only file or a full
    disk): before, serve started, said healthy and refused every alert."""
    path = tmp_path / "ro.db"
    made = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade",
        env={**os.environ, "CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    assert await made.wait() == 0
    refused = await spawn(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true", free_port(),
                          fake, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(refused.communicate(), 30)
    assert refused.returncode == 1
    # Refused where the first write happens (the console's key, a migration, or the probe).
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("crisisbot: cannot start: the database cannot ")
    assert last.endswith(": attempt to write a readonly database")
    assert b"Traceback" not in err
