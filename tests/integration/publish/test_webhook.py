"""The signed webhook destination against a loopback receiver: what it makes of the
receiver's "not now"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chat.destinations import SignedWebhook
from bot.core.ports import Once, RetryLater
from bot.core.publication import Publication, digest

from .receiver import SECRET, Receiver

TEXT = "We are on it."


def statement() -> Publication:
    return Publication(1, 1, 1, TEXT, digest(TEXT), "en", ("webhook",),
                       datetime(2026, 12, 1, 9, tzinfo=UTC), "local:bob", id=1)


@pytest.mark.parametrize(("retry_after", "wait"), [
    ("30", 30.0), ("99999999999999", 3600.0), ("Wed, 21 Oct 2015 07:28:00 GMT", None)])
async def test_a_receivers_retry_after_is_honoured_up_to_an_hour(
        retry_after: str, wait: float | None) -> None:
    """A receiver asking for years (or more than a date can hold) would leave the statement
    undelivered for good: it is asked again within the hour."""
    receiver = Receiver(down=True, retry_after=retry_after)
    await receiver.start()
    try:
        with pytest.raises(RetryLater) as raised:
            await SignedWebhook(receiver.url, SECRET).publish(statement(), None, once=Once(1))
        assert raised.value.after == wait
    finally:
        await receiver.stop()
