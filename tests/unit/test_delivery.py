"""Notices -> chat actions, with the local chat adapter."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bot.chat.local import LocalChat
from bot.core.delivery import Delivery
from bot.core.models import Draft, Incident, Notice, NoticeKind, Severity, Space
from bot.core.ports import Once
from bot.core.rooms import RoomMessage
from bot.core.rules import Rules
from bot.core.text import Text, _
from bot.storage.memory_rooms import MemoryRooms
from tests.unit.support import ALICE, BOB, CAROL, DAVE, World, make_world, render_for


class ChatDown(Exception):
    pass


class FlakyChat(LocalChat):
    """A local chat whose channels can be made to fail, like an archived Slack channel."""

    def __init__(self) -> None:
        self.transcript: list[str] = []
        super().__init__(render_for, MemoryRooms(), echo=self.transcript.append)
        self.broken_incidents: set[int] = set()
        self.broken_channels: set[str] = set()
        self.pin_failures = 0
        self.pin_calls = 0

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        if incident.number in self.broken_incidents:
            raise ChatDown(f"cannot open a channel for {incident.public_id}")
        return await super().open_space(incident, once=once)

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        if space.channel in self.broken_channels:
            raise ChatDown(f"#{space.channel} is archived")
        return await super().post(space, lines, thread=thread, draft=draft, language=language,
                                  once=once)


    async def pin(self, space: Space, message: str) -> None:
        self.pin_calls += 1
        if self.pin_failures:
            self.pin_failures -= 1
            raise ChatDown("pinning failed")
        await super().pin(space, message)


def flaky_world(rules: Rules | None = None) -> tuple[World, FlakyChat]:
    world = make_world(rules)
    chat = FlakyChat()
    world.chat = chat
    world.delivery = Delivery(world.store, {"local": chat}, world.rules)
    return world, chat


async def channel_of(world: World, number: int) -> str:
    space = (await world.incident(number)).space
    assert space is not None
    return space.channel


async def messages(chat: LocalChat, channel: str) -> list[RoomMessage]:
    return await chat.messages(channel)


async def members(chat: LocalChat, channel: str) -> list[str]:
    space = await chat.rooms.space(channel)
    assert space is not None
    return space.members


async def test_declare_opens_space_invites_then_posts_and_pins_summary() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Fake quote spreading", severity=Severity.SEV2)
    handled = await world.delivery.flush()
    assert handled == 3
    incident = await world.incident(1)
    assert incident.space == Space("local", "crisis-1-fake-quote-spreading")
    channel = "crisis-1-fake-quote-spreading"
    assert await members(chat, channel) == [ALICE]
    [summary] = await messages(chat, channel)
    assert summary.pinned
    assert incident.summary_message == summary.id
    assert "INC-1: Fake quote spreading" in summary.text
    assert "Severity: SEV2" in summary.text
    assert "Commander: @alice" in summary.text
    # order: channel, invite, post, pin
    assert [line.split(" ", 1)[1].split(" ", 1)[0] for line in chat.transcript] == [
        "opened", "+", f"[{summary.id}]", f"[{summary.id}]"]
    assert chat.transcript[-1].endswith("pinned")
    assert await world.pending() == []
    assert await world.delivery.flush() == 0  # nothing left: nothing happens twice
    assert len(await messages(chat, channel)) == 1


@pytest.mark.parametrize("refresh_first", [False, True])
async def test_a_failed_pin_is_retried_on_the_posted_summary(refresh_first: bool) -> None:
    """Posting worked, pinning failed: the retry (or a later refresh that supersedes it) pins
    the message already posted, without posting it again; once pinned, never again."""
    world, chat = flaky_world()
    chat.pin_failures = 1
    await world.service.declare(ALICE, "Outage")
    with pytest.raises(ChatDown):
        await world.delivery.flush()
    channel = await channel_of(world, 1)
    [summary] = (await messages(chat, channel))
    assert not summary.pinned
    assert (await world.incident(1)).summary_message == summary.id
    assert not (await world.incident(1)).summary_pinned
    if refresh_first:
        await world.service.acknowledge(1, ALICE)
    await world.delivery.flush()
    assert summary.pinned
    assert [m for m in (await messages(chat, channel)) if "Severity:" in m.text] == [summary]
    assert (await world.incident(1)).summary_pinned
    assert chat.pin_calls == 2
    await world.service.assign(1, ALICE, BOB, "spokesperson")
    await world.delivery.flush()
    assert chat.pin_calls == 2  # edits do not pin again


async def test_summary_is_edited_not_reposted() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage")
    await world.delivery.flush()
    channel = await channel_of(world, 1)
    [summary] = (await messages(chat, channel))
    await world.service.acknowledge(1, ALICE)
    await world.delivery.flush()
    await world.service.assign(1, ALICE, BOB, "spokesperson")
    await world.delivery.flush()
    summaries = [m for m in (await messages(chat, channel)) if "Severity:" in m.text]
    assert summaries == [summary]
    assert summary.edits == 2
    assert "Status: acknowledged" in summary.text
    assert "Spokesperson: @bob" in summary.text
    assert await members(chat, channel) == [ALICE, BOB]
    assert any("acknowledged INC-1" in m.text for m in (await messages(chat, channel)))


async def test_consecutive_summary_refreshes_collapse() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage")
    await world.service.assign(1, ALICE, BOB, "approver")
    await world.service.assign(1, ALICE, CAROL, "approver")
    await world.service.set_severity(1, ALICE, Severity.SEV1)
    pending = await world.pending()
    assert sum(n.kind is NoticeKind.SUMMARY for n in pending) == 4
    assert await world.delivery.flush() == len(pending)
    channel = await channel_of(world, 1)
    summaries = [m for m in (await messages(chat, channel)) if "Severity:" in m.text]
    assert len(summaries) == 1
    [summary] = summaries
    # posted once from the final state, never edited
    assert (summary.edits, summary.pinned) == (0, True)
    assert "Severity: SEV1" in summary.text
    assert "Approver: @bob, @carol" in summary.text
    # later: two refreshes in one round -> one edit
    await world.service.assign(1, ALICE, DAVE, "legal")
    await world.service.set_severity(1, ALICE, Severity.SEV2)
    await world.delivery.flush()
    assert summary.edits == 1
    assert "Legal: @dave" in summary.text
    assert "Severity: SEV2" in summary.text


async def test_draft_card_posted_once_then_edited_and_ready_message_in_thread() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage", severity=Severity.SEV1)  # needs 2 approvals
    await world.service.assign(1, ALICE, BOB, "approver")
    await world.service.assign(1, ALICE, CAROL, "approver")
    await world.delivery.flush()
    channel = await channel_of(world, 1)

    await world.service.post_draft(1, ALICE, "We are aware.")
    await world.delivery.flush()
    [card] = [m for m in (await messages(chat, channel)) if m.draft == 1]
    assert "Draft #1 (version 1) by @alice" in card.text
    assert "Approvals: 0 of 2 (approver)" in card.text
    async with world.store.unit() as unit:
        assert (await unit.get_draft(1, 1)).current.message == card.id  # type: ignore[union-attr]

    await world.service.decide(1, BOB, approve=True)
    await world.delivery.flush()
    assert card.edits == 1
    assert "Approvals: 1 of 2 (approver): @bob" in card.text

    await world.service.decide(1, CAROL, approve=True)
    await world.delivery.flush()
    assert [m for m in (await messages(chat, channel)) if m.draft == 1] == [card]
    assert card.edits == 2
    assert "State: approved, ready to publish" in card.text
    [ready] = [m for m in (await messages(chat, channel)) if "ready to publish." in m.text]
    assert ready.thread == card.id
    assert "Approved by @bob, @carol" in ready.text
    summary = next(m for m in (await messages(chat, channel)) if "Severity:" in m.text)
    assert "#1 approved, ready to publish" in summary.text


async def test_revision_posts_a_new_card_and_rejection_goes_in_thread() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage")
    await world.service.assign(1, ALICE, BOB, "approver")
    await world.service.post_draft(1, ALICE, "v1 text")
    await world.delivery.flush()
    channel = await channel_of(world, 1)
    [v1] = [m for m in (await messages(chat, channel)) if m.draft == 1]

    await world.service.decide(1, BOB, approve=False, reason="Too vague")
    await world.delivery.flush()
    [why] = [m for m in (await messages(chat, channel)) if "rejected draft #1" in m.text]
    assert why.thread == v1.id
    assert "State: rejected" in v1.text

    await world.service.revise(1, 1, ALICE, "v2 text")
    await world.delivery.flush()
    cards = [m for m in (await messages(chat, channel)) if m.draft == 1]
    assert len(cards) == 2
    v2 = cards[1]
    assert v2.id != v1.id
    assert "Draft #1 (version 2)" in v2.text
    assert "v2 text" in v2.text
    assert v2.edits == 0

    await world.service.decide(1, BOB, approve=True)
    await world.delivery.flush()
    assert v2.edits == 1
    assert "State: approved" in v2.text
    assert "State: rejected" in v1.text  # the old card is left alone
    [ready] = [m for m in (await messages(chat, channel)) if "ready to publish." in m.text]
    assert ready.thread == v2.id


async def test_draft_notice_for_a_superseded_version_posts_nothing() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage")
    await world.service.post_draft(1, ALICE, "v1")
    await world.service.revise(1, 1, ALICE, "v2")
    await world.delivery.flush()
    channel = await channel_of(world, 1)
    cards = [m for m in (await messages(chat, channel)) if m.draft == 1]
    assert len(cards) == 1
    assert "(version 2)" in cards[0].text


async def test_failure_for_one_incident_does_not_block_another_and_is_retried() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "First")
    await world.service.declare(BOB, "Second")
    chat.broken_incidents.add(1)
    with pytest.raises(ChatDown, match="INC-1"):
        await world.delivery.flush()
    assert (await world.incident(1)).space is None
    second = await world.incident(2)
    assert second.space is not None
    assert second.summary_message is not None
    pending = await world.pending()
    assert {n.incident for n in pending} == {1}
    assert [n.kind for n in pending] == [NoticeKind.OPEN_SPACE, NoticeKind.INVITE,
                                        NoticeKind.SUMMARY]

    # still down: retried, refused again, nothing lost
    with pytest.raises(ChatDown):
        await world.delivery.flush()
    assert len(await world.pending()) == 3

    chat.broken_incidents.clear()
    assert await world.delivery.flush() == 3
    first = await world.incident(1)
    assert first.space is not None
    assert first.summary_message is not None
    assert len(await chat.channels()) == 2
    assert len(await messages(chat, second.space.channel)) == 1  # incident 2 not redelivered


async def test_failure_keeps_order_within_the_incident() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "First")
    await world.delivery.flush()
    channel = await channel_of(world, 1)
    chat.broken_channels.add(channel)
    await world.service.note(1, ALICE, "no notice")  # notes queue nothing
    await world.service.acknowledge(1, ALICE)  # MESSAGE then SUMMARY
    await world.service.declare(BOB, "Second")
    with pytest.raises(ChatDown):
        await world.delivery.flush()
    assert [n.kind for n in await world.pending()] == [NoticeKind.MESSAGE, NoticeKind.SUMMARY]
    chat.broken_channels.clear()
    await world.delivery.flush()
    texts = [m.text for m in (await messages(chat, channel))]
    assert len(texts) == 2
    assert "acknowledged INC-1" in texts[1]
    assert "Status: acknowledged" in texts[0]


async def test_a_blocked_incident_with_a_long_queue_does_not_starve_others() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "First")
    await world.service.assign(1, ALICE, BOB, "approver")
    await world.service.declare(CAROL, "Second")
    chat.broken_incidents.add(1)
    with pytest.raises(ChatDown):
        await world.delivery.flush(batch=2)  # incident 1's notices fill every batch
    second = await world.incident(2)
    assert second.space is not None
    assert second.summary_message is not None
    assert {n.incident for n in await world.pending()} == {1}


async def test_direct_notice() -> None:
    world, chat = flaky_world()
    await world.service.declare(ALICE, "Outage")
    async with world.store.unit() as unit:
        await unit.enqueue(Notice(1, NoticeKind.DIRECT, world.clock.now(), text=_("Wake up"),
                                  person=BOB))
    await world.delivery.flush()
    assert await chat.directs() == [(BOB, "Wake up")]


async def test_a_bound_person_is_invited_and_messaged_under_their_id_on_the_platform() -> None:
    """Alice holds roles under her Slack id; this incident lives on the local chat."""
    world, chat = flaky_world(Rules(people={"slack:U1": "slack:U1", ALICE: "slack:U1"}))
    await world.service.declare(ALICE, "Fake quote spreading", severity=Severity.SEV2)
    async with world.store.unit() as unit:
        await unit.enqueue(Notice(1, NoticeKind.DIRECT, world.clock.now(), person="slack:U1",
                                  text=_("INC-1 needs you.")))
    await world.delivery.flush()
    assert (await world.incident(1)).roles["commander"] == ["slack:U1"]
    assert await members(chat, "crisis-1-fake-quote-spreading") == [ALICE]
    assert [person for person, _text in await chat.directs()] == [ALICE]
