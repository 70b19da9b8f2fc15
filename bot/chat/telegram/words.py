"""What Telegram's command text looks like: `/crisis_<verb>` aliases, the words after the
command, text mentions, and the language an outsider is answered in."""

from __future__ import annotations

from telegram import Message, MessageEntity, User

from bot.core import access
from bot.core.command_registry import REGISTRY
from bot.core.text import LANGUAGES, Text

VERBS: dict[str, Text] = dict(REGISTRY.verbs())
"""`/crisis_<verb>` aliases: each sub-command of the help once (`draft` has two lines),
with its first description."""


def reader_language(user: User, origin: access.Origin) -> str | None:
    """An outsider is answered in the language their Telegram app uses, when the bot speaks
    it (the team's language means nothing to them); the team in the team's language."""
    code = (user.language_code or "").split("-")[0].lower()
    return code if origin is access.Origin.OUTSIDER and code in LANGUAGES else None


def command_words(text: str) -> str:
    """`/crisis_ack@CrisisBot INC-2` or `/crisis ack INC-2` -> `ack INC-2` for the parser. The
    command ends at the first space or line break: a statement typed on the next line keeps
    its case and its lines."""
    head, *rest = text.split(maxsplit=1) or [""]
    name = head.lstrip("/").split("@", 1)[0].lower()
    verb = name.removeprefix("crisis").lstrip("_")
    return f"{verb} {''.join(rest)}".strip()


def with_text_mentions(message: Message) -> str:
    """Text mentions (people without a username, picked from the member list) carry the user,
    not a parsable word: put their numeric id where their name was."""
    text = message.text or ""
    mentions = [(e.offset, e.length, e.user.id) for e in message.entities
                if e.type == MessageEntity.TEXT_MENTION and e.user is not None]
    if not mentions:
        return text
    units = text.encode("utf-16-le")  # entity offsets count UTF-16 code units
    for offset, length, user in sorted(mentions, reverse=True):
        start, end = offset * 2, (offset + length) * 2
        units = units[:start] + str(user).encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")
