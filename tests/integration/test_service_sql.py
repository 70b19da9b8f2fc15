"""The whole core Service, and the delivery of what it queued, on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chat.local import LocalChat
from bot.core.delivery import Delivery
from bot.core.models import DraftState, EventKind, Severity, Status
from bot.core.rules import Rules
from bot.core.service import Service
from bot.core.store import Store
from bot.core.text import render
from bot.storage.memory_rooms import MemoryRooms
from bot.storage.sql.rooms import SqlRooms
from bot.storage.sql.store import SqlStore


class StepClock:
    """A minute passes at every reading, so events have distinct, known times."""

    def __init__(self) -> None:
        self.at = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


async def test_declare_ack_assign_draft_and_two_approvals(store: Store) -> None:
    rules = Rules()
    service = Service(store, StepClock(), rules)
    rooms = SqlRooms(store) if isinstance(store, SqlStore) else MemoryRooms()
    chat = LocalChat(lambda _language: render, rooms)
    delivery = Delivery(store, {"local": chat}, rules)

    incident = await service.declare("local:alice", "Fake screenshot of our CEO",
                                     severity=Severity.SEV2)
    await service.acknowledge(incident.number, "local:alice")
    for person in ("local:bob", "local:carol"):
        await service.assign(incident.number, "local:alice", person, "approver")
    await service.assign(incident.number, "local:alice", "local:dave", "spokesperson")
    draft = await service.post_draft(incident.number, "local:dave", "The screenshot is fake.")
    assert await delivery.flush() > 0  # the draft card is posted: its message id is stored

    first = await service.decide(incident.number, "local:bob", approve=True)
    assert first.state is DraftState.PENDING
    card = first.current.message
    assert card is not None
    second = await service.decide(incident.number, "local:carol", approve=True, message=card)
    assert second.state is DraftState.APPROVED
    await delivery.flush()

    loaded, drafts, events, _alerts = await service.load(incident.number)
    assert loaded.status is Status.ACKNOWLEDGED
    assert loaded.roles == {"commander": ["local:alice"],
                            "approver": ["local:bob", "local:carol"],
                            "spokesperson": ["local:dave"]}
    assert loaded.space is not None
    assert loaded.summary_message is not None
    assert [d.state for d in drafts] == [DraftState.APPROVED]
    assert [(d.person, d.step, d.role) for d in drafts[0].decisions] == [
        ("local:bob", 0, "approver"), ("local:carol", 0, "approver")]
    assert drafts[0].number == draft.number
    assert [e.kind for e in events] == [
        EventKind.DECLARED, EventKind.ACKNOWLEDGED, EventKind.ROLE_ASSIGNED,
        EventKind.ROLE_ASSIGNED, EventKind.ROLE_ASSIGNED, EventKind.DRAFT_POSTED,
        EventKind.DRAFT_APPROVAL, EventKind.DRAFT_APPROVAL, EventKind.DRAFT_APPROVED,
    ]
    assert events[-1].data["approvers"] == ["local:bob", "local:carol"]
    async with store.unit() as unit:
        assert await unit.pending_notices(100) == []

    channel = await rooms.space(loaded.space.channel)
    assert channel is not None
    assert channel.members == ["local:alice", "local:bob", "local:carol", "local:dave"]
    assert any("approved and ready to publish" in text and "@bob, @carol" in text
               for text in await chat.texts(channel.name))
