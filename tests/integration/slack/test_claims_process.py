"""`crisisbot serve` killed with SIGKILL right after an escalation is committed, while its
notices are claimed: the restarted process takes its dead predecessor's claims back at once
(not after the 60-second lease) and the escalation's channel message and direct message each
arrive exactly once, identified by their outbox ids."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path

import pytest

from tests.integration.slack.fake_slack import FakeSlack, Message
from tests.integration.slack.harness import until
from tests.integration.slack.test_faults_process import (
    ON_EITHER_DATABASE,
    database_url,
    post_alert,
    spawn,
)
from tests.processes import healthy
from tests.serving import free_port

ON_CALL = "U0ONCALL"
WITHIN = 30.0
ESCALATING = {"CRISISBOT_OUTBOX__LEASE": "60", "CRISISBOT_SCHEDULE__ACK_TIMEOUT": "6s",
              "CRISISBOT_SCHEDULE__TICK": "1s",
              "CRISISBOT_SCHEDULE__ESCALATION": json.dumps(
                  [{"after": "0s", "people": [f"slack:{ON_CALL}"]}])}


def escalations(fake: FakeSlack) -> tuple[list[Message], list[Message]]:
    """The escalation's posts in incident channels, and the direct messages to the on-call."""
    channel = [m for c in fake.channels.values() if c.name.startswith("crisis-")
               for m in c.messages if "still not acknowledged" in m.text]
    dm = fake.channels.get(f"D{ON_CALL}")
    return channel, list(dm.messages) if dm else []


def outbox_ids(messages: list[Message]) -> list[int]:
    return [int((m.metadata or {})["event_payload"]["notice"]) for m in messages]


@pytest.mark.slow
@ON_EITHER_DATABASE
async def test_kill_9_after_an_escalation_restart_delivers_at_once(
        tmp_path: Path, fake: FakeSlack, database: str, request: pytest.FixtureRequest) -> None:
    db = database_url(database, tmp_path / "e.db", request)
    port = free_port()
    first = await spawn(db, port, fake, **ESCALATING)
    try:
        await healthy(port, first)
        await post_alert(port, "Page me", "critical")
        await until(lambda: [c for c in fake.channels.values() if c.pins], within=20)
        assert escalations(fake) == ([], [])
        # The escalation's first call hangs (carried out only long after this test): the
        # process is killed holding its claims, nothing of the escalation delivered.
        fake.hang("chat.postMessage", 600)
        fake.hang("conversations.open", 600)
        await until(lambda: [a for m in ("chat.postMessage", "conversations.open")
                             for a in fake.called(m)
                             if "acknowledged" in a.get("text", "") or m.endswith("open")],
                    within=20)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    fake.failures.clear()
    restarted_at = time.monotonic()
    second = await spawn(db, port, fake, **ESCALATING)
    try:
        await until(lambda: all(escalations(fake)), within=WITHIN)
        took = time.monotonic() - restarted_at
        await asyncio.sleep(3)  # a second copy of either would show by now
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    channel, dm = escalations(fake)
    print(f"restart to delivery: {took:.1f} s")
    assert took < 15, f"took {took:.1f} s: the dead process's claims waited out the lease"
    assert len(channel) == 1
    assert len(dm) == 1
    assert len(set(outbox_ids(channel + dm))) == 2
    assert dm[0].text.startswith("INC-1 (SEV")
