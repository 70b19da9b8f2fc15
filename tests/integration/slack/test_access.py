"""Only the installed workspace is served, and a signed request is taken once: over loopback
HTTP, signed as Slack signs (https://api.slack.com/authentication/verifying-requests-from-slack),
against the fake Slack whose `auth.test` names the installed team `T1`. Slash-command and
interactivity payloads as Slack documents them (https://api.slack.com/interactivity/slash-commands,
https://api.slack.com/reference/interaction-payloads/block-actions)."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

from bot.core.models import EventKind
from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import Running, start, until
from tests.integration.slack.test_slack_story import APPROVER1, COMMANDER, cards, setup_incident

FORM = "application/x-www-form-urlencoded"


def command_body(fake: FakeSlack, user: str, text: str, *, team: str = "T1",
                 channel: str = "CGENERAL") -> str:
    return urllib.parse.urlencode({
        "token": "legacy", "team_id": team, "team_domain": "t", "channel_id": channel,
        "channel_name": "x", "user_id": user, "user_name": user.lower(), "command": "/crisis",
        "text": text, "api_app_id": "A1", "response_url": f"{fake.url}/respond/{user}",
        "trigger_id": "1.2.3"})


async def incidents(bot: Running) -> list[int]:
    async with bot.bot.store.unit() as unit:
        return [i.number for i in await unit.incidents()]


async def test_another_workspace_gets_one_line_and_nothing_else(tmp_path: Path,
                                                                fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        channel = await setup_incident(bot, fake)
        [card] = cards(fake, channel)
        before = await bot.bot.service.load(1)
        for text in ("report INC-1", "ack INC-1", "resolve INC-1", "declare SEV1 Fake breach",
                     "help"):
            answered = len(fake.responses)
            response = await bot.signed(command_body(fake, "UEVIL", text, team="T2",
                                                     channel=channel), FORM)
            assert response.status_code == 200
            [answer] = (await until(lambda answered=answered: fake.responses[answered:]))
            assert answer["text"].startswith("crisisbot takes commands only in its team's chat")
            assert "INC-1" not in answer["text"]
            assert "\n" not in answer["text"]
        # An approver's ✅ and button click relayed from another workspace do nothing.
        await bot.signed(json.dumps({
            "token": "legacy", "team_id": "T2", "api_app_id": "A1", "type": "event_callback",
            "event_id": "EvOTHER1", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T2", "user_id": "UBOT", "is_bot": True}],
            "event": {"type": "reaction_added", "user": APPROVER1,
                      "reaction": "white_check_mark",
                      "item": {"type": "message", "channel": channel, "ts": card.ts},
                      "event_ts": card.ts}}), "application/json")
        value = "1:1:1"
        await bot.signed(urllib.parse.urlencode({"payload": json.dumps({
            "type": "block_actions", "team": {"id": "T2"}, "api_app_id": "A1",
            "token": "legacy", "user": {"id": APPROVER1, "team_id": "T2"},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": card.ts, "channel_id": channel},
            "message": {"ts": card.ts}, "trigger_id": "9.9.9",
            "response_url": f"{fake.url}/respond/{APPROVER1}",
            "actions": [{"type": "button", "action_id": "crisis_approve",
                         "block_id": "decide", "value": value, "action_ts": "1"}]})}), FORM)
        # A later command from the team itself is answered: the relayed ones were before it.
        answered = len(fake.responses)
        await bot.command(COMMANDER, "timeline", channel)
        await until(lambda: fake.responses[answered:])
        incident, drafts, events, _alerts = await bot.bot.service.load(1)
        assert incident == before[0]
        assert drafts[0].decisions == []
        assert len(events) == len(before[2])
        assert await incidents(bot) == [1]
        assert not fake.ephemerals(APPROVER1)
    finally:
        await bot.stop()


async def test_a_replayed_slash_command_runs_once(tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        body = command_body(fake, COMMANDER, "declare SEV2 Checkout is down")
        stamp = int(time.time())
        first = await bot.signed(body, FORM, timestamp=stamp)
        again = await bot.signed(body, FORM, timestamp=stamp)  # the same signed bytes
        assert (first.status_code, again.status_code) == (200, 200)
        await until(lambda: fake.responses)
        # Signed anew (a new timestamp), the same words are a new request: it runs.
        later = await bot.signed(command_body(fake, COMMANDER, "help"), FORM,
                                 timestamp=stamp + 1)
        assert later.status_code == 200
        await until(lambda: len(fake.responses) >= 2)
        assert await incidents(bot) == [1]
        assert [r["text"].startswith("Declared INC-1") for r in fake.responses].count(True) == 1
    finally:
        await bot.stop()


async def test_a_pin_is_a_note_and_needs_a_role(tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        channel = await setup_incident(bot, fake)
        said = fake.user_message(channel, "UNOROLE", "I saw it first")
        await bot.react("UNOROLE", channel, said.ts, "pushpin")
        [refusal] = await until(lambda: fake.ephemerals("UNOROLE"))
        assert refusal == "Changing INC-1 needs a role in it; ask <@U0CMD> for one."
        events = (await bot.bot.service.load(1))[2]
        assert not [e for e in events if e.kind is EventKind.MESSAGE_PINNED]
    finally:
        await bot.stop()
