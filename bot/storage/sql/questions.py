"""Questions waiting for a reply, in the database, keyed by the message that asked."""

from __future__ import annotations

from sqlalchemy import delete

from bot.core.models import Question
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import QuestionRow


class SqlQuestions(SqlRole):
    """The `Questions` port."""

    async def ask(self, question: Question) -> None:
        row = await self._s.get(QuestionRow, (question.platform, question.chat,
                                              question.message))
        if row is None:
            row = QuestionRow(platform=question.platform, chat=question.chat,
                              message=question.message)
            self._s.add(row)
        row.kind, row.incident, row.person = question.kind, question.incident, question.person
        row.draft, row.version = question.draft, question.version
        row.asked_at = question.asked_at
        await self._s.flush()

    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        row = await self._s.get(QuestionRow, (platform, chat, message))
        if row is None:
            return None
        return Question(row.platform, row.chat, row.message, row.kind, row.incident, row.draft,
                        row.version, row.person, row.asked_at)

    async def answered(self, question: Question) -> None:
        await self._s.execute(delete(QuestionRow).where(
            QuestionRow.platform == question.platform, QuestionRow.chat == question.chat,
            QuestionRow.message == question.message))
