"""Questions the bot asked one person (the reason for a rejection, a draft's new text) and
the replies that answer them. `bot.core.delivery` records a question once it is sent."""

from __future__ import annotations

from bot.core.models import PersonId, Question
from bot.core.rules import Rules
from bot.core.tx import Tx


async def waiting(tx: Tx, rules: Rules, platform: str, chat: str, message: str,
                  person: PersonId) -> Question | None:
    """The question `message` asked `person` (under their one bound id), if it still waits
    for their reply: anyone else's reply to it is not an answer."""
    question = await tx.unit.question(platform, chat, message)
    if question is None or rules.canonical(question.person) != rules.canonical(person):
        return None
    return question


async def answered(tx: Tx, question: Question) -> None:
    await tx.unit.answered(question)
