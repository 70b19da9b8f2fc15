"""Units opened inside another unit of the same store, on the same task, join it.

An adapter can then record an inbound event's id in the same transaction as everything its
handling writes (`Service.together`): one commit, so one wait for the disk, and a crash keeps
both or neither. The joining unit is a savepoint: if it fails, what it wrote is undone and the
outer unit goes on (a refused command still gets its refusal queued). Only the task that opened
the outer unit joins it; a task started inside inherits the context but opens units of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

T = TypeVar("T")


class OpenUnit(Generic[T]):
    """What the current task's open unit of one store holds (its session or state)."""

    def __init__(self) -> None:
        self._var: ContextVar[tuple[asyncio.Task[object] | None, T] | None] = ContextVar(
            f"crisisbot-open-unit-{id(self)}", default=None)

    def current(self) -> T | None:
        """The open unit's holding, if this task opened one and is still inside it."""
        found = self._var.get()
        if found is None or found[0] is not asyncio.current_task():
            return None
        return found[1]

    @contextmanager
    def opened(self, holding: T) -> Iterator[None]:
        """Mark `holding` as this task's open unit for the block."""
        token = self._var.set((asyncio.current_task(), holding))
        try:
            yield
        finally:
            self._var.reset(token)
