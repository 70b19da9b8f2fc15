"""Roles come from the commander: nobody grants themselves `approver` or `commander`, a
draft's author cannot take `legal` (and its veto) away, command is handed over explicitly,
`[access] assign_roles` widens who hands roles out, and refusals name whom to ask."""

from __future__ import annotations

import re

import pytest

from bot.app.team import rules_from
from bot.core import access
from bot.core.access import Chat, Origin
from bot.core.errors import Forbidden
from bot.core.models import Severity
from bot.core.rules import Rules
from bot.settings import ConfigError, load
from tests.unit.support import ALICE, BOB, CAROL, DAVE, ERIN, World, make_world


async def crew(world: World) -> int:
    """ALICE commands; BOB is spokesperson and writes draft #1; CAROL approves; DAVE is legal."""
    n = (await world.service.declare(ALICE, "Leak", severity=Severity.SEV2)).number
    for person, role in ((BOB, "spokesperson"), (CAROL, "approver"), (DAVE, "legal")):
        await world.service.assign(n, ALICE, person, role)
    await world.service.post_draft(n, BOB, "We are looking into it.")
    return n


async def test_role_holders_cannot_grant_roles_or_strip_the_veto(world: World) -> None:
    n = await crew(world)
    before = await world.snapshot(n)
    only = re.escape("Only the commander gives and takes back roles in INC-1; ask @alice.")
    for actor, person, role, remove in ((CAROL, CAROL, "approver", False),
                                        (CAROL, CAROL, "commander", False),
                                        (BOB, BOB, "approver", False),
                                        (BOB, DAVE, "legal", True),
                                        (ERIN, ERIN, "commander", False)):
        with pytest.raises(Forbidden, match=only):
            await world.service.assign(n, actor, person, role, remove=remove)
    assert await world.snapshot(n) == before
    with pytest.raises(Forbidden, match=re.escape(
            "Approving needs the role approver; ask @alice to assign it.")):
        await world.service.decide(n, ERIN, approve=True)
    with pytest.raises(Forbidden, match=re.escape(
            "Rejecting needs the role approver or legal; ask @alice to assign it.")):
        await world.service.decide(n, ERIN, approve=False, reason="no")
    # The veto holds: legal rejects the spokesperson's draft.
    await world.service.decide(n, DAVE, approve=False, reason="Names a supplier")


async def test_command_is_handed_over_explicitly(world: World) -> None:
    n = await crew(world)
    incident = await world.service.assign(n, ALICE, CAROL, "commander")
    assert incident.commander == CAROL
    assert ALICE not in incident.responders
    with pytest.raises(Forbidden, match="ask @carol"):
        await world.service.assign(n, ALICE, ERIN, "monitor")
    await world.service.assign(n, CAROL, ERIN, "monitor")


async def test_assign_roles_names_who_hands_roles_out() -> None:
    world = make_world(Rules(assign_roles=frozenset({"commander", "support"})))
    n = await crew(world)
    await world.service.assign(n, ALICE, ERIN, "support")
    await world.service.assign(n, ERIN, BOB, "monitor")
    with pytest.raises(Forbidden, match=re.escape(
            "Only the commander / support gives and takes back roles in INC-1; ask @alice, "
            "@erin.")):
        await world.service.assign(n, CAROL, CAROL, "monitor")


@pytest.mark.parametrize(("chat", "known", "origin"), [
    (Chat.TEAM, False, Origin.TEAM), (Chat.TEAM, True, Origin.TEAM),
    (Chat.PRIVATE, True, Origin.MEMBER), (Chat.PRIVATE, False, Origin.OUTSIDER),
    (Chat.OTHER, True, Origin.OUTSIDER), (Chat.OTHER, False, Origin.OUTSIDER),
])
def test_origin(chat: Chat, known: bool, origin: Origin) -> None:
    assert access.origin(chat, known=known) is origin


def test_a_private_chat_counts_for_people_bound_in_the_settings() -> None:
    world = make_world(Rules(people={"telegram:7": "slack:U7", "slack:U7": "slack:U7"}))
    assert world.service.origin(Chat.PRIVATE, "telegram:7", seen=False) is Origin.MEMBER
    assert world.service.origin(Chat.PRIVATE, "telegram:8", seen=False) is Origin.OUTSIDER
    assert world.service.origin(Chat.PRIVATE, "telegram:8", seen=True) is Origin.MEMBER


def test_assign_roles_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rules_from(load()).assign_roles == frozenset({"commander"})
    monkeypatch.setenv("CRISISBOT_ACCESS__ASSIGN_ROLES", '["Commander", "support"]')
    assert rules_from(load()).assign_roles == frozenset({"commander", "support"})
    monkeypatch.setenv("CRISISBOT_ACCESS__ASSIGN_ROLES", '["janitor"]')
    with pytest.raises(ConfigError, match=r"access\.assign_roles: unknown role"):
        load()
