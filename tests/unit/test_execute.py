"""`Service.execute`: parsed commands with a Context, as every platform calls it."""

from __future__ import annotations

import pytest

from bot.chat.slack_syntax import read_mention
from bot.core.access import Origin
from bot.core.commands import Mention, parse
from bot.core.context import Context, Reply
from bot.core.errors import Forbidden, Invalid, NotFound
from bot.core.models import CrisisKind, DraftState, EventKind, Severity, Space, Status
from bot.core.text import render
from tests.unit.support import ALICE, BOB, CAROL, DAVE, MALLORY, FakeClock, World


async def run(world: World, text: str, actor: str = ALICE,
              space: Space | None = None) -> Reply:
    return await world.service.execute(parse(text), world.ctx(actor, space))


def said(reply: Reply) -> str:
    return "\n".join(render(line) for line in reply.lines)


async def open_incident(world: World) -> Space:
    """Declare INC-1 as ALICE, deliver, and return its channel."""
    reply = await run(world, "/crisis declare SEV2 kind:trolling Bot swarm")
    assert said(reply) == "Declared INC-1: Bot swarm."
    assert reply.incident == 1
    await world.delivery.flush()
    space = (await world.incident(1)).space
    assert space is not None
    return space


async def test_help_anywhere(world: World) -> None:
    reply = await run(world, "/crisis help")
    text = said(reply)
    assert text.startswith("crisisbot commands:")
    for verb in ("declare", "ack", "role", "severity", "status", "draft", "approve", "reject",
                 "timeline", "resolve", "report", "help"):
        assert f"/crisis {verb}" in text
    assert said(await run(world, "")) == text


async def test_declare(world: World) -> None:
    await open_incident(world)
    incident = await world.incident(1)
    assert (incident.severity, incident.kind, incident.commander, incident.platform) == (
        Severity.SEV2, CrisisKind.TROLLING, ALICE, "local")


@pytest.mark.parametrize("text", ["ack", "status hi", "role @bob legal", "severity SEV1",
                                  "draft hi", "approve", "reject 1 no", "note x", "timeline",
                                  "resolve", "reopen", "report", "draft revise 1 x"])
async def test_which_incident_outside_a_channel(world: World, text: str) -> None:
    await open_incident(world)
    with pytest.raises(Invalid, match="Which incident"):
        await run(world, text)
    # a space that belongs to no incident does not help either
    with pytest.raises(Invalid, match="Which incident"):
        await run(world, text, space=Space("local", "random"))


async def test_unknown_incident_named(world: World) -> None:
    with pytest.raises(NotFound, match="INC-9"):
        await run(world, "ack INC-9")


async def test_ack_in_channel_and_by_name(world: World, clock: FakeClock) -> None:
    space = await open_incident(world)
    clock.advance(minutes=2)
    reply = await run(world, "ack", BOB, space)
    assert (said(reply), reply.incident) == ("Done.", 1)
    assert (await world.incident(1)).acknowledged_at == clock.now()
    with pytest.raises(Invalid, match="already acknowledged"):
        await run(world, "ack INC-1", BOB)


async def test_role_with_mentions(world: World) -> None:
    space = await open_incident(world)
    await run(world, "role @bob approver", space=space)
    await run(world, "role legal @carol", space=space)
    assert (await world.incident(1)).roles == {"commander": [ALICE], "approver": [BOB],
                                               "legal": [CAROL]}
    await run(world, "role remove @bob approver", space=space)
    assert "approver" not in (await world.incident(1)).roles
    with pytest.raises(Invalid, match="Unknown role"):
        await run(world, "role @bob janitor", space=space)
    with pytest.raises(Forbidden):
        await run(world, "role @mallory commander", MALLORY, space)


async def test_context_resolves_mentions_through_the_platform(world: World) -> None:
    space = await open_incident(world)
    seen: list[Mention] = []

    def resolve(mention: Mention) -> str:
        seen.append(mention)
        return "local:from-directory"

    ctx = Context(ALICE, "local", space, resolve=resolve, origin=Origin.TEAM)
    await world.service.execute(parse("role <@U777|dave> monitor", read_mention), ctx)
    assert seen == [Mention("U777")]
    assert (await world.incident(1)).holders("monitor") == ["local:from-directory"]
    # without a resolver the platform prefix is used
    plain = Context(ALICE, "local", space, origin=Origin.TEAM)
    await world.service.execute(parse("role 42 support"), plain)
    assert (await world.incident(1)).holders("support") == ["local:42"]


async def test_severity_status_note_timeline(world: World, clock: FakeClock) -> None:
    space = await open_incident(world)
    await run(world, "severity sev1", space=space)
    await run(world, "status responding Blocking accounts", space=space)
    await run(world, "status Still blocking", space=space)
    await run(world, "note Press called", space=space)
    incident = await world.incident(1)
    assert (incident.severity, incident.status) == (Severity.SEV1, Status.RESPONDING)
    kinds = [e.kind for e in await world.timeline(1)]
    assert kinds == [EventKind.DECLARED, EventKind.SEVERITY_CHANGED, EventKind.STATUS_CHANGED,
                     EventKind.STATUS_UPDATE, EventKind.STATUS_UPDATE, EventKind.NOTE]
    reply = await run(world, "timeline", space=space)
    lines = said(reply).splitlines()
    assert len(lines) == len(kinds)
    assert lines[0] == "2024-05-01 12:00 UTC @alice declared “Bot swarm” (SEV2)"
    assert lines[1] == "2024-05-01 12:00 UTC @alice changed severity SEV2 → SEV1"
    assert lines[-1] == "2024-05-01 12:00 UTC @alice noted: Press called"


async def test_draft_flow(world: World) -> None:
    space = await open_incident(world)
    await run(world, "role @bob approver", space=space)
    await run(world, "role @carol approver", space=space)
    await run(world, "role @dave legal", space=space)
    reply = await run(world, "draft to:@swarm We are looking into it.", space=space)
    assert said(reply) == "Draft #1 posted for approval."
    reply = await run(world, "draft revise 1 We are on it.", space=space)
    assert said(reply) == "Draft #1 is now at version 2."
    with pytest.raises(Forbidden, match="You wrote this draft"):
        await run(world, "approve", space=space)
    assert said(await run(world, "approve 1", BOB, space)) == "You approved draft #1."
    assert said(await run(world, "approve", CAROL, space)) == "You approved draft #1."
    async with world.store.unit() as unit:
        draft = await unit.get_draft(1, 1)
    assert draft is not None
    assert (draft.state, draft.target, draft.current.text) == (
        DraftState.APPROVED, "@swarm", "We are on it.")
    await run(world, "draft Second statement", space=space)
    reply = await run(world, "reject Not our tone", DAVE, space)
    assert said(reply) == "You rejected draft #2."
    async with world.store.unit() as unit:
        rejected = await unit.get_draft(1, 2)
    assert rejected is not None
    assert rejected.state is DraftState.REJECTED
    assert rejected.decisions[-1].reason == "Not our tone"


async def test_resolve_reopen_report(world: World) -> None:
    space = await open_incident(world)
    await run(world, "resolve Swarm blocked", space=space)
    incident = await world.incident(1)
    assert incident.status is Status.RESOLVED
    assert (await world.timeline(1))[-1].data["summary"] == "Swarm blocked"
    with pytest.raises(Invalid, match="reopen it first"):
        await run(world, "status still here", space=space)
    with pytest.raises(Invalid, match="reopen it first"):  # as for a draft, before who asks
        await run(world, "draft template holding", MALLORY, space)
    await run(world, "reopen", space=space)
    assert (await world.incident(1)).status is Status.RESPONDING
    reply = await run(world, "report", space=space)
    report = said(reply)
    assert report.startswith("# Post-incident report: INC-1 — Bot swarm")
    assert "- Resolution: Swarm blocked" in report
    assert "@alice reopened the incident" in report


async def test_named_incident_beats_the_channel(world: World) -> None:
    space = await open_incident(world)
    await run(world, "declare Second one", BOB)
    await world.delivery.flush()
    await run(world, "ack INC-2", BOB, space)  # typed in INC-1's channel
    assert (await world.incident(2)).status is Status.ACKNOWLEDGED
    assert (await world.incident(1)).status is Status.TRIGGERED


async def test_channel_of_another_incident(world: World) -> None:
    await open_incident(world)
    await run(world, "declare Second one", BOB)
    await world.delivery.flush()
    second = (await world.incident(2)).space
    assert second is not None
    await run(world, "note about two", BOB, second)
    assert (await world.timeline(2))[-1].data["text"] == "about two"
    assert all(e.kind is not EventKind.NOTE for e in await world.timeline(1))


async def test_refused_commands_leave_store_unchanged(world: World) -> None:
    space = await open_incident(world)
    await run(world, "role @bob approver", space=space)
    before = await world.snapshot(1)
    for text, actor in [("severity SEV2", ALICE), ("status resolved-ish", MALLORY),
                        ("approve", BOB), ("reject no", DAVE), ("draft revise 3 x", ALICE),
                        ("role remove @carol legal", ALICE), ("reopen", ALICE)]:
        with pytest.raises((Invalid, Forbidden, NotFound)):
            await run(world, text, actor, space)
        assert await world.snapshot(1) == before, text


async def test_roles_shows_who_holds_which_role_and_what_nobody_holds(world: World) -> None:
    space = await open_incident(world)
    await run(world, "role @bob approver", space=space)
    await run(world, "role @carol legal", space=space)
    reply = await run(world, "roles", space=space, actor=DAVE)  # anyone in the team may look
    assert reply.incident == 1
    lines = said(reply).splitlines()
    assert lines[0] == "Commander: @alice"
    assert "Approver: @bob" in lines
    assert "Legal: @carol" in lines
    assert "Spokesperson: nobody" in lines
    assert len(lines) == len(world.service.rules.roles)  # the commander once, then each role
