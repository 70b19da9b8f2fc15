"""Incidents' checklists in the database."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.playbooks import Task
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.mappers import fill_task, to_task
from bot.storage.sql.tables import TaskRow


class SqlTasks(SqlRole):
    """The `Tasks` port."""

    async def add_task(self, task: Task) -> None:
        row = TaskRow(incident=task.incident, number=task.number)
        fill_task(row, task)
        self._s.add(row)
        await self._s.flush()

    async def update_task(self, task: Task) -> None:
        row = await self._s.get(TaskRow, (task.incident, task.number))
        if row is None:
            raise LookupError(f"no task {task.incident}/{task.number} to update")
        fill_task(row, task)
        await self._s.flush()

    async def tasks(self, incident: int) -> list[Task]:
        rows = await self._s.scalars(
            select(TaskRow).where(TaskRow.incident == incident).order_by(TaskRow.number)
        )
        return [to_task(row) for row in rows]
