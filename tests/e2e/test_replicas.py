"""Two `crisisbot serve` processes on one PostgreSQL database, speaking to a fake Slack, with
every new group's alerts sent to both at once (as a load balancer spreading a storm would):
one incident and one channel per group, no chat message twice, one escalation per incident
that nobody acknowledged, at most one digest per incident per window. Then the scheduler's
leader is killed with SIGKILL and the other replica carries on.

Issue 12's acceptance test (and issue 18's "two replicas, identical alerts at once").
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.leader import LEADER_NAME
from tests.integration.slack.fake_slack import FakeSlack
from tests.processes import healthy, process_env, start_serve_async
from tests.serving import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SECRET = "replica-secret"
GROUPS = 24
DIGEST_SECONDS = 1.0
TICK = 0.5
ONCALL = "UONCALL"


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    port: int

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def spawn(database: str, slack: str) -> Replica:
    """A replica started, not yet answering (see `healthy`)."""
    port = free_port()
    process = await start_serve_async(process_env(
        CRISISBOT_DATABASE_URL=database, CRISISBOT_PORT=str(port),
        CRISISBOT_ALERTS__SECRET=SECRET, CRISISBOT_ALERTS__DIGEST_SECONDS=str(DIGEST_SECONDS),
        CRISISBOT_SLACK__BOT_TOKEN="xoxb-test", CRISISBOT_SLACK__SIGNING_SECRET="signing-secret",
        CRISISBOT_SLACK__API_URL=f"{slack}/api/",
        CRISISBOT_SCHEDULE__TICK=str(TICK), CRISISBOT_SCHEDULE__ACK_TIMEOUT="1s",
        CRISISBOT_SCHEDULE__UPDATE_EVERY="off",
        CRISISBOT_SCHEDULE__ESCALATION=f'[{{"after": "0s", "people": ["slack:{ONCALL}"]}}]',
        CRISISBOT_OUTBOX__POLL="0.5s"))
    return Replica(process, port)


def notification(group: int, names: Sequence[str]) -> dict[str, Any]:
    """An Alertmanager webhook (its documented v4 shape) for one group."""
    return {"version": "4", "groupKey": f"group-{group}", "status": "firing",
            "receiver": "crisisbot", "alerts": [{
                "status": "firing", "labels": {"alertname": f"Group{group}", "n": name},
                "annotations": {"summary": f"Group {group} is failing"},
                "startsAt": "2026-12-01T09:00:00Z", "fingerprint": f"g{group}-{name}"}
                for name in names]}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(text(sql), params)).all())


async def leader_pid(engine: AsyncEngine) -> int | None:
    names = await rows(engine, "SELECT application_name FROM pg_stat_activity "
                               "WHERE application_name LIKE :leader "
                               "AND datname = current_database()", leader=f"{LEADER_NAME}%")
    return int(names[0][0].rsplit(" ", 1)[1]) if names else None


async def until(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def settled(engine: AsyncEngine, incidents: int) -> bool:
    """Every incident escalated and every notice delivered."""
    [(escalated,)] = await rows(engine, "SELECT count(DISTINCT incident) FROM timeline_events "
                                        "WHERE kind = 'escalation'")
    [(pending,)] = await rows(engine, "SELECT count(*) FROM notices "
                                      "WHERE delivered_at IS NULL")
    return escalated >= incidents and pending == 0


def posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return slack.called("chat.postMessage")


def check_chat(slack: FakeSlack, incidents: int) -> None:
    channels = [c for c in slack.channels.values() if c.name.startswith("crisis-")]
    numbers = Counter(c.name.split("-")[1] for c in channels)
    assert len(numbers) == incidents
    assert set(numbers.values()) == {1}
    notices = [p["metadata"]["event_payload"]["notice"] for p in posts(slack)]
    assert len(notices) == len(set(notices)), "a notice was posted twice"
    dms = slack.channels[f"D{ONCALL}"].messages
    assert len(dms) == incidents  # one escalation DM per unacknowledged incident
    for channel in channels:
        escalations = [m for m in channel.messages if "is still not acknowledged" in m.text]
        assert len(escalations) == 1, channel.name


async def check_digests(engine: AsyncEngine) -> int:
    """At most one digest per incident per window; how many digests there were."""
    told = await rows(engine, "SELECT incident, at FROM timeline_events "
                              "WHERE kind = 'alerts_digest' ORDER BY incident, at")
    for (incident, at), (after_incident, after) in itertools.pairwise(told):
        if incident == after_incident:
            assert after - at >= timedelta(seconds=DIGEST_SECONDS), (incident, at, after)
    return len(told)


async def test_two_replicas_one_incident_per_group_then_one_survives_a_kill(
        postgres_url: str, database: AsyncEngine, slack: FakeSlack) -> None:
    replicas = [await spawn(postgres_url, slack.url), await spawn(postgres_url, slack.url)]
    headers = {"authorization": f"Bearer {SECRET}"}
    try:
        await asyncio.gather(*(healthy(r.port, r.process) for r in replicas))
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:

            async def send(replica: Replica, body: dict[str, Any]) -> int:
                answer = await client.post(f"{replica.url}/alerts/alertmanager", json=body)
                return answer.status_code

            # Each group's first alerts reach both replicas at once: one identical
            # notification to both, and one of its own to each.
            first = [send(r, notification(g, ["shared"])) for g in range(GROUPS)
                     for r in replicas]
            first += [send(r, notification(g, [f"own-{i}"])) for g in range(GROUPS)
                      for i, r in enumerate(replicas)]
            assert set(await asyncio.gather(*first)) == {200}  # no 5xx for losing a race
            # Then a storm, spread over both, long enough for a few digest windows.
            started = time.monotonic()
            wave = 0
            while time.monotonic() - started < 2.5 * DIGEST_SECONDS:
                wave += 1
                storm = [send(replicas[(g + wave) % 2], notification(g, [f"w{wave}"]))
                         for g in range(GROUPS)]
                assert set(await asyncio.gather(*storm)) == {200}
                await asyncio.sleep(0.2)

        [(incidents,)] = await rows(database, "SELECT count(*) FROM incidents")
        assert incidents == GROUPS
        assert await rows(database, "SELECT group_key FROM incidents GROUP BY group_key "
                                    "HAVING count(*) > 1") == []
        [(alerts,)] = await rows(database, "SELECT count(*) FROM alerts")
        assert alerts == GROUPS * (3 + wave)  # the shared alert stored once
        assert await until(lambda: settled(database, GROUPS))
        check_chat(slack, GROUPS)
        assert await check_digests(database) >= GROUPS  # digests were told, one per window

        # The leader dies: the other takes over within a tick and carries on alone.
        leader = await until(lambda: leader_pid(database))
        [dead] = [r for r in replicas if r.pid == leader]
        [survivor] = [r for r in replicas if r is not dead]
        dead.process.send_signal(signal.SIGKILL)
        await dead.process.wait()
        killed = time.monotonic()
        assert await until(lambda: _is(leader_pid(database), survivor.pid), 10)
        failover = time.monotonic() - killed
        assert failover < TICK + 2.0, failover
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            answer = await client.post(f"{survivor.url}/alerts/alertmanager",
                                       json=notification(GROUPS, ["after-kill"]))
        assert answer.status_code == 200
        assert await until(lambda: settled(database, GROUPS + 1))
        check_chat(slack, GROUPS + 1)
    finally:  # a clean stop is test_serve_process's business: here, no waiting for drains
        for replica in replicas:
            if replica.process.returncode is None:
                replica.process.kill()
            await replica.process.wait()


async def _is(pid: Any, expected: int) -> bool:
    return bool(await pid == expected)
