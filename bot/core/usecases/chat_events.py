"""Platform events handled once: a chat platform may deliver an event (or a signed request)
again, so its id is claimed first, with the work it asks for stored in the same commit."""

from __future__ import annotations

from typing import Any

from bot.core.models import InboundJob
from bot.core.tx import Tx


async def first_sight(tx: Tx, key: str,
                      job: tuple[str, str, dict[str, Any]] | None = None) -> bool:
    """Claim `key`; True the first time it is seen (then `job`, as (platform, kind, payload),
    is stored for the inbound worker), False for a re-delivery, which does nothing."""
    first = await tx.unit.first_sight(key, tx.now)
    if first and job is not None:
        platform, kind, payload = job
        await tx.unit.add_inbound(InboundJob(platform, kind, payload, tx.now))
    return first
