"""Slack's reaction names become emoji before the core's rule reads them; the core decides
on emoji alone, whichever platform they come from."""

from __future__ import annotations

import pytest

from bot.chat.slack_syntax import emoji
from bot.core.rules import reaction_decision


@pytest.mark.parametrize(
    ("name", "decision"),
    [
        ("white_check_mark", True),
        (":heavy_check_mark:", True),
        ("+1", True),
        ("+1::skin-tone-3", True),
        (":thumbsup::skin-tone-6:", True),
        ("x", False),
        ("-1::skin-tone-2", False),
        ("no_entry", False),
        ("pushpin", None),
        ("eyes", None),
    ],
)
def test_slack_names_decide_through_their_emoji(name: str, decision: bool | None) -> None:
    assert reaction_decision(emoji(name)) is decision


@pytest.mark.parametrize(
    ("reaction", "decision"),
    [("✅", True), ("👍", True), ("✔", True), ("❌", False), ("👎", False), ("⛔", False),
     ("🔥", None), ("white_check_mark", None), ("+1", None), ("x", None)],
)
def test_the_core_reads_emoji_not_platform_names(reaction: str, decision: bool | None) -> None:
    assert reaction_decision(reaction) is decision
