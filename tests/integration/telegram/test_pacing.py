"""Proactive pacing against the fake Bot API: per-chat spacing and the per-group sliding window
(scaled down from 1/s and 20/60 s), answers first, nothing lost, and the limits wired from
settings."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.app.chats import telegram_chat
from bot.chat.telegram.api import build_application, space_of
from bot.chat.telegram.outbound import TelegramChat
from bot.chat.telegram.pacing import Limits
from bot.core.models import Answer
from bot.core.ports import RetryLater
from bot.core.rules import Rules
from bot.core.text import Who, _
from bot.i18n import renderer
from bot.settings import Settings
from bot.storage.memory import MemoryStore
from bot.storage.send_slots import StoredSendSlots

from .fake_api import CHAT_ID, FakeTelegram
from .harness import TOKEN


@asynccontextmanager
async def paced_chat(limits: Limits) -> AsyncIterator[tuple[FakeTelegram, TelegramChat]]:
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    app = build_application(TOKEN, fake.url)

    def render_for(language: str | None, mention: object) -> object:
        return renderer(language or "en", mention)  # type: ignore[arg-type]

    chat = TelegramChat(app, CHAT_ID, render_for, StoredSendSlots(MemoryStore()),
                        limits=limits)  # type: ignore[arg-type]
    await app.initialize()
    try:
        yield fake, chat
    finally:
        await app.shutdown()
        await fake.stop()


async def test_25_messages_to_one_group_keep_to_the_window_and_none_is_lost() -> None:
    window, per_group, per_second = 0.5, 5, 50.0
    limits = Limits(per_chat_per_second=per_second, per_group=per_group, group_window=window)
    async with paced_chat(limits) as (fake, chat):
        space = space_of(CHAT_ID, 42)
        texts = [f"update {n}" for n in range(25)]
        # All at once, as the outbox delivers several incidents side by side.
        await asyncio.gather(*(chat.post(space, [_("{text}", text=t)]) for t in texts))
        sends = [c for c in fake.calls if c.method == "sendMessage"]
    assert sorted(c.params["text"] for c in sends) == sorted(texts)
    moments = [c.at for c in sends]
    for first, later in zip(moments, moments[per_group:], strict=False):
        assert later - first >= window, "more than per_group messages in one window"
    for first, later in itertools.pairwise(moments):
        assert later - first >= 1 / per_second
    # Paced, not stalled: 25 messages in windows of 5 take four windows and a bit.
    assert 4 * window <= moments[-1] - moments[0] < 8 * window


async def test_an_answer_takes_the_next_turn_before_waiting_notices() -> None:
    limits = Limits(per_chat_per_second=2.0, per_group=20, group_window=60.0)
    async with paced_chat(limits) as (fake, chat):
        space = space_of(CHAT_ID, 42)

        async def later(delay: float, work: Any) -> Any:
            await asyncio.sleep(delay)
            return await work

        # Routine 2 holds the turn, waiting for its slot; routine 3 waits; then the answer.
        await asyncio.gather(
            chat.post(space, [_("routine {n}", n=1)]),
            later(0.1, chat.post(space, [_("routine {n}", n=2)])),
            later(0.15, chat.post(space, [_("routine {n}", n=3)])),
            later(0.2, chat.answer(Answer("telegram", str(CHAT_ID), (_("the answer"),),
                                          thread="42", reply_to="7"))))
        texts = [c.params["text"] for c in fake.calls if c.method == "sendMessage"]
    assert sorted(texts) == ["routine 1", "routine 2", "routine 3", "the answer"]
    assert texts.index("the answer") < texts.index("routine 3")


async def test_a_private_chat_has_the_per_chat_limit_only() -> None:
    limits = Limits(per_chat_per_second=10.0, per_group=2, group_window=60.0)
    async with paced_chat(limits) as (fake, chat):
        fake.started.add(104)
        for n in range(5):
            await chat.direct("telegram:104", [_("ping {n}", n=n)])
        moments = [c.at for c in fake.calls if c.method == "sendMessage"]
    assert len(moments) == 5
    assert all(b - a >= 0.1 for a, b in itertools.pairwise(moments))
    assert moments[-1] - moments[0] < 2.0  # the group window did not apply


async def test_chats_are_paced_independently() -> None:
    limits = Limits(per_chat_per_second=1.0, per_group=20, group_window=60.0)
    async with paced_chat(limits) as (fake, chat):
        fake.started.update({104, 105})
        await asyncio.gather(chat.direct("telegram:104", [_("a")]),
                             chat.direct("telegram:105", [_("b")]))
        moments = [c.at for c in fake.calls if c.method == "sendMessage"]
    assert len(moments) == 2
    assert abs(moments[1] - moments[0]) < 0.5


async def test_429_is_still_honoured_under_pacing() -> None:
    async with paced_chat(Limits()) as (fake, chat):
        fake.failures["sendMessage"] = [3]
        with pytest.raises(RetryLater) as wait:
            await chat.post(space_of(CHAT_ID, 42), [_("hello {who}", who=Who("telegram:1"))])
    assert wait.value.after == 3


def test_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISBOT_TELEGRAM__PER_CHAT_PER_SECOND", "0.5")
    monkeypatch.setenv("CRISISBOT_TELEGRAM__PER_GROUP_PER_MINUTE", "12")
    settings = Settings(telegram={"bot_token": TOKEN})
    chat = telegram_chat(settings, Rules(), MemoryStore())
    assert chat.pacer.limits == Limits(per_chat_per_second=0.5, per_group=12,
                                       group_window=60.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(per_chat_per_second=0)
    with pytest.raises(ValueError, match="positive"):
        Limits(per_group=0)
