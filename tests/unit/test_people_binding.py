"""One human, two platforms: ids bound in `Rules.people` are canonicalised by the service, so
roles given on Slack hold on Telegram and a Slack and a Telegram approval count once."""

from __future__ import annotations

import inspect

import pytest

from bot.chat.slack_syntax import read_mention
from bot.core import commands as cmd
from bot.core.access import Origin
from bot.core.context import Context
from bot.core.errors import Forbidden, Invalid
from bot.core.models import DraftState, EventKind, Severity
from bot.core.rules import Rules
from bot.core.service import Service
from tests.unit.support import ALICE, BOB, World, make_world

SLACK, TELEGRAM = "slack:U123", "telegram:93372553"
BOUND = {SLACK: SLACK, TELEGRAM: SLACK}


@pytest.fixture
def bound() -> World:
    return make_world(Rules(people=BOUND))


async def sev1_with_draft(world: World) -> int:
    number = (await world.service.declare(ALICE, "Leak", severity=Severity.SEV1)).number
    slack = Context(ALICE, "slack", origin=Origin.TEAM)
    await world.service.execute(cmd.parse(f"role INC-{number} <@U123> approver",
                                          read_mention), slack)
    await world.service.assign(number, ALICE, BOB, "approver")
    await world.service.post_draft(number, ALICE, "We are looking into it.")
    return number


async def test_a_role_given_on_slack_lets_the_telegram_identity_approve(bound: World) -> None:
    number = await sev1_with_draft(bound)
    assert (await bound.incident(number)).roles["approver"] == [SLACK, BOB]
    draft = await bound.service.decide(number, TELEGRAM, approve=True)
    assert [d.person for d in draft.decisions] == [SLACK]
    events = [e for e in await bound.timeline(number) if e.kind is EventKind.DRAFT_APPROVAL]
    assert [e.actor for e in events] == [SLACK]


async def test_approving_on_both_platforms_counts_once(bound: World) -> None:
    number = await sev1_with_draft(bound)
    await bound.service.decide(number, TELEGRAM, approve=True)
    with pytest.raises(Forbidden, match="already decided"):
        await bound.service.decide(number, SLACK, approve=True)
    with pytest.raises(Forbidden, match="already decided"):
        await bound.service.execute(cmd.parse(f"approve INC-{number}"),
                                    Context(TELEGRAM, "telegram", origin=Origin.TEAM))
    draft = await bound.service.decide(number, BOB, approve=True)
    assert draft.state is DraftState.APPROVED
    assert [d.person for d in draft.decisions] == [SLACK, BOB]


async def test_a_role_given_on_telegram_holds_on_slack(bound: World) -> None:
    number = (await bound.service.declare(ALICE, "Leak")).number
    telegram = Context(ALICE, "telegram", origin=Origin.TEAM)
    await bound.service.execute(cmd.parse(f"role INC-{number} 93372553 commander"), telegram)
    assert (await bound.incident(number)).roles["commander"] == [SLACK]
    # The Slack identity is now the commander: it may hand out roles.
    await bound.service.assign(number, SLACK, BOB, "approver")
    with pytest.raises(Invalid, match="already"):
        await bound.service.assign(number, TELEGRAM, SLACK, "commander")


async def test_the_author_cannot_approve_from_the_other_platform(bound: World) -> None:
    number = await sev1_with_draft(bound)
    await bound.service.post_draft(number, TELEGRAM, "Second statement.")
    with pytest.raises(Forbidden):
        await bound.service.decide(number, SLACK, approve=True, draft_number=2)


async def test_an_unbound_person_is_unaffected(bound: World) -> None:
    number = await sev1_with_draft(bound)
    await bound.service.assign(number, ALICE, "telegram:777", "approver")
    assert "telegram:777" in (await bound.incident(number)).roles["approver"]
    draft = await bound.service.decide(number, "telegram:777", approve=True)
    assert [d.person for d in draft.decisions] == ["telegram:777"]
    with pytest.raises(Forbidden):
        await bound.service.decide(number, "slack:U999", approve=True)


async def test_without_bindings_ids_stay_apart() -> None:
    world = make_world()
    number = await sev1_with_draft(world)
    with pytest.raises(Forbidden):
        await world.service.decide(number, TELEGRAM, approve=True)


def test_every_entry_point_taking_a_person_canonicalises() -> None:
    for name, method in inspect.getmembers(Service, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        parameters = inspect.signature(method).parameters
        if {"actor", "person", "invite"} & set(parameters):
            assert getattr(method, "canonical_people", False), name


def test_people_from_settings() -> None:
    from bot.app.team import people_from
    from bot.settings import Settings

    settings = Settings(people=[{"name": "Maryam", "ids": [SLACK, TELEGRAM]}])
    assert people_from(settings) == BOUND
    clash = Settings(people=[{"name": "A", "ids": [SLACK]}, {"name": "B", "ids": [SLACK]}])
    assert any("bound to both" in p for p in clash.check_consistency())
    with pytest.raises(ValueError, match="platform:id"):
        Settings(people=[{"name": "C", "ids": ["U123"]}])


def test_a_bound_person_is_reached_under_their_id_on_each_platform() -> None:
    rules = Rules(people=BOUND)
    assert rules.on("telegram", SLACK) == TELEGRAM  # roles are held under the Slack id
    assert rules.on("slack", TELEGRAM) == SLACK
    assert rules.on("slack", SLACK) == SLACK
    assert rules.on("telegram", "slack:U999") == "slack:U999"  # unbound: as it is
    assert rules.on("local", SLACK) == SLACK  # no id there: as it is


def test_each_platform_mentions_a_bound_person_under_their_id_there() -> None:
    from bot.app.chats import slack_chat, telegram_chat
    from bot.core.text import Who, _
    from bot.settings import Settings
    from bot.storage.memory import MemoryStore

    rules = Rules(people=BOUND)
    settings = Settings(telegram={"bot_token": "1:x"}, slack={"bot_token": "xoxb-1",
                                                              "signing_secret": "s"})
    telegram = telegram_chat(settings, rules, MemoryStore())
    assert 'tg://user?id=93372553' in telegram.html([_("hi {who}", who=Who(SLACK))])
    slack = slack_chat(settings, rules)
    assert slack.render([_("hi {who}", who=Who(TELEGRAM))]) == "hi <@U123>"
