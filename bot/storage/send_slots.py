"""The `SendSlots` port on the database: each booking is one short unit of work, so a
platform adapter paces itself without holding (or even knowing) the store."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.sending import SendRate
from bot.core.store import Store


@dataclass(frozen=True)
class StoredSendSlots:
    store: Store

    async def reserve(self, chat: str, now: float, rate: SendRate) -> float:
        async with self.store.unit() as unit:
            return await unit.reserve_send(chat, now, rate)

    async def sent(self, chat: str, slot: float, at: float) -> None:
        async with self.store.unit() as unit:
            await unit.sent(chat, slot, at)
