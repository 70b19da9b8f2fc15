"""`/crisis web` on Slack, over loopback HTTP signed as Slack signs, against the fake Slack: the
answer is ephemeral (only the sender sees it, Slack's `response_type: ephemeral` on the
command's `response_url`, https://api.slack.com/interactivity/slash-commands) and carries a link
under `CRISISBOT_PUBLIC_URL` that signs the sender in to the console once; another workspace
gets the one-line refusal and no link."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.integration.console.browsing import signs_in_once
from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import start, until
from tests.integration.slack.test_access import FORM, command_body

LINK = re.compile(r"http://127\.0\.0\.1:8080/signin/[\w-]+")


async def test_the_ephemeral_answer_carries_a_link_that_signs_the_sender_in_once(
        tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        response = await bot.command("UALICE", "web")
        assert response.status_code == 200
        [answer] = await until(lambda: fake.responses)
        assert answer["response_type"] == "ephemeral"
        found = LINK.search(answer["text"])
        assert found is not None, answer["text"]
        link = urlsplit(found.group(0)).path

        async with httpx.AsyncClient(base_url=bot.url) as browser:  # the same app's console
            await signs_in_once(browser, link, "slack:UALICE")

        refused = await bot.signed(command_body(fake, "UEVIL", "web", team="T2"), FORM)
        assert refused.status_code == 200
        [_mine, other] = await until(lambda: fake.responses[1:] and fake.responses)
        assert other["text"].startswith("crisisbot takes commands only in its team's chat")
        assert "/signin/" not in other["text"]
    finally:
        await bot.stop()
