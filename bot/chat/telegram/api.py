"""The Bot API's shape for crisisbot: the application, the ids of spaces and people, and one
call with Telegram's "slow down" turned into the outbox's `RetryLater`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from telegram import User
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import Application

from bot.core.models import PersonId, Space
from bot.core.ports import RetryLater

PLATFORM = "telegram"
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
T = TypeVar("T")


def build_application(token: str, api_url: str, timeout: float = 10.0) -> TelegramApp:
    """PTB's custom-webhook setup: no Updater (we fetch updates), no job queue (APScheduler
    runs ours), Bot API and file URLs from settings, every request bounded by `timeout`
    (`CRISISBOT_TELEGRAM__TIMEOUT`) so none outlives its outbox lease."""
    base = api_url.rstrip("/")
    file_url = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"
    return (Application.builder().token(token).base_url(api_url).base_file_url(file_url)
            .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout)
            .pool_timeout(timeout).updater(None).job_queue(None).build())


def space_of(chat_id: int, thread: int) -> Space:
    return Space(PLATFORM, f"{chat_id}/{thread}")


def where(space: Space) -> tuple[int, int]:
    chat, thread = space.channel.split("/", 1)
    return int(chat), int(thread)


def person_of(user: User) -> PersonId:
    return f"{PLATFORM}:{user.id}"


def telegram_id(person: PersonId) -> int | None:
    platform, _sep, handle = person.partition(":")
    return (int(handle) if platform == PLATFORM and handle.isascii() and handle.isdigit()
            else None)


async def call(request: Awaitable[T]) -> T:
    """One Bot API call; Telegram's "slow down" (429 with `retry_after`) and a lost connection
    become the outbox's `RetryLater`."""
    try:
        return await request
    except RetryAfter as error:
        # The private field is always a timedelta; the public one warns until PTB 23.
        raise RetryLater(str(error), error._retry_after.total_seconds()) from error
    except BadRequest:
        raise
    except NetworkError as error:  # a timeout, a dropped connection, a 5xx
        raise RetryLater(f"Telegram unreachable: {error}") from error
