"""The auto-archive on Slack: `conversations.archive`, and an already archived channel is fine."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.outbound import SlackChat
from bot.core.models import Space
from bot.core.text import render
from tests.integration.slack.fake_slack import Channel, FakeSlack


async def test_archive_space_archives_once_and_tolerates_already_archived(
        fake: FakeSlack) -> None:
    fake.channels["C1"] = Channel("C1", "crisis-1-payments")
    chat = SlackChat(AsyncWebClient(token="xoxb-test", base_url=f"{fake.url}/api/"),
                     lambda _language: render)
    await chat.archive_space(Space("slack", "C1"))
    assert fake.channels["C1"].archived
    await chat.archive_space(Space("slack", "C1"))  # a retried notice
    assert fake.called("conversations.archive") == [{"channel": "C1"}] * 2
    fake.fail("conversations.archive", 200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(SlackApiError):
        await chat.archive_space(Space("slack", "C1"))
