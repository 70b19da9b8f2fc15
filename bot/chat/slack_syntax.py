"""Slack's markup, read into what the core understands: a mention written `<@U123|name>` is a
`Mention` of `U123`, and a reaction's emoji name (`white_check_mark`, `+1::skin-tone-3`) is the
emoji itself (✅, 👍), which `rules.reaction_decision` reads. The local chat names reactions
the same way (`:white_check_mark:`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.core.commands import Mention, parse_mention

_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$")

EMOJI: Mapping[str, str] = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "+1": "👍",
    "thumbsup": "👍",
    "x": "❌",
    "-1": "👎",
    "thumbsdown": "👎",
    "no_entry": "⛔",
}
"""Slack's names of the emoji that decide on a draft."""


def read_mention(token: str) -> Mention | None:
    """`<@U123>` or `<@U123|name>` is Slack user U123; anything else is read as everywhere."""
    if match := _MENTION.match(token):
        return Mention(match.group(1))
    return parse_mention(token)


def emoji(name: str) -> str:
    """The emoji Slack names `name` (`:+1::skin-tone-2:` is 👍); a name this module does not
    know comes back without its colons and skin tone."""
    base = name.strip(":").split("::")[0]
    return EMOJI.get(base, base)
