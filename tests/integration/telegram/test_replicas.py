"""Two processes' outboxes on one database, speaking in one Telegram group (issue #12): each
queue is delivered by one of them at a time, the chat's sending limit is booked in the database
so it holds for both together, and nothing is posted twice. On one SQLite file and on one
PostgreSQL database; each "process" has its own store (own connections), Bot API client and
outbox, as two `crisisbot serve` replicas would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from bot.app.wiring import SystemClock
from bot.chat.outbox import Outbox, Pacing
from bot.chat.telegram.api import build_application
from bot.chat.telegram.outbound import TelegramChat
from bot.chat.telegram.pacing import Limits
from bot.core.delivery import Delivery
from bot.core.models import SYSTEM, Severity
from bot.core.rules import Rules
from bot.core.service import Service
from bot.i18n import renderer
from bot.storage.send_slots import StoredSendSlots
from bot.storage.sql.store import SqlStore

from .fake_api import CHAT_ID, FakeTelegram
from .harness import TOKEN

WINDOW, PER_GROUP = 1.0, 5
"""Telegram's twenty messages a minute per group, scaled down: five a second."""
LIMITS = Limits(per_chat_per_second=50.0, per_group=PER_GROUP, group_window=WINDOW)
INCIDENTS = 6
SPEAKING = {"sendMessage", "createForumTopic", "pinChatMessage", "editMessageText",
            "closeForumTopic", "reopenForumTopic"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    if request.param == "postgres":
        from tests.conftest import _empty_postgres
        _empty_postgres(url)
    return url


@asynccontextmanager
async def replica(url: str, fake: FakeTelegram) -> AsyncIterator[tuple[SqlStore, Outbox]]:
    store = SqlStore(url)
    app = build_application(TOKEN, fake.url)

    def render_for(language: str | None, mention: Any) -> Any:
        return renderer(language or "en", mention)

    chat = TelegramChat(app, CHAT_ID, render_for, StoredSendSlots(store), limits=LIMITS)
    # One notice per claim: while one replica waits for the chat, the other claims the next
    # incident's notices, so both speak in the group at the same time.
    outbox = Outbox(store, Delivery(store, {chat.platform: chat}, Rules()), SystemClock(),
                    Pacing(batch=1))
    await app.initialize()
    try:
        yield store, outbox
    finally:
        await app.shutdown()
        await store.close()


async def test_two_replicas_keep_one_groups_limit_together_and_post_nothing_twice(
        shared_url: str) -> None:
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    try:
        async with AsyncExitStack() as stack:
            one, first = await stack.enter_async_context(replica(shared_url, fake))
            _two, second = await stack.enter_async_context(replica(shared_url, fake))

            service = Service(one, SystemClock(), Rules(), platform="telegram")
            for n in range(INCIDENTS):
                await service.declare(SYSTEM, f"Outage {n}", severity=Severity.SEV3)
            counts = await asyncio.gather(first.drain(), second.drain())
            assert all(counts), f"both replicas delivered: {counts}"
            async with one.unit() as unit:
                assert await unit.pending_notices(1000) == []
    finally:
        await fake.stop()

    topics = [c["name"] for c in fake.called("createForumTopic")]
    assert len(set(topics)) == len(topics) == INCIDENTS
    summaries = [c["text"].split(":")[0] for c in fake.called("sendMessage")
                 if c["text"].startswith("INC-")]
    assert sorted(summaries) == sorted(f"INC-{n}" for n in range(1, INCIDENTS + 1))
    assert len(fake.called("pinChatMessage")) == INCIDENTS

    moments = sorted(c.at for c in fake.calls if c.method in SPEAKING)
    assert len(moments) >= 3 * INCIDENTS
    # Telegram counts a message when it arrives; a booking is made before the call leaves, so
    # allow the few milliseconds one loopback call takes.
    crowded = [(a, b) for a, b in zip(moments, moments[PER_GROUP:], strict=False)
               if b - a < WINDOW - 0.05]
    assert not crowded, f"more than {PER_GROUP} messages within {WINDOW} s: {crowded}"
