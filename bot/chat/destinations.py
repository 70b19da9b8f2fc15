"""Where approved statements go (`bot.core.publication.Destination`): the public status page,
a Telegram channel, a Slack channel and a signed outgoing webhook.

Each gets the stored statement and sends its text unchanged (Slack escapes `&`, `<` and `>`
as its API requires; what Slack shows is the same text). Platforms' "not now" becomes the
outbox's `RetryLater`; the outbox retries and resumes after a restart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook
from telegram import Bot
from telegram.error import BadRequest

from bot.chat.slack.outbound import SlackChat
from bot.chat.telegram.api import call as telegram_call
from bot.core.ports import Once, RetryLater
from bot.core.publication import (
    SLACK,
    STATUS,
    TELEGRAM,
    WEBHOOK,
    Posted,
    Publication,
    updated_note,
)
from bot.core.text import Text
from bot.logsafe import TOKEN_SEGMENT

Render = Callable[[Text, str], str]
"""(text, language) -> the words in that language."""


def marked_updated(render: Render, earlier: Publication, later: Publication) -> str:
    """The earlier statement's message after a correction: a note, then its own words."""
    return f"{render(updated_note(later), earlier.language)}\n\n{earlier.text}"


class StatusPage:
    """The status page reads published statements from the store; delivering one to it only
    records its link (the page shows statements whose status-page delivery landed)."""

    name = STATUS

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        return Posted(None, f"{self.base_url}/status#{statement.key}")

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        """The page shows both statements with their times by itself."""


class TelegramChannel:
    """`sendMessage` to a channel the bot administers (plain text, no parse mode, so the
    words arrive as written); a correction edits the earlier message."""

    name = TELEGRAM

    def __init__(self, bot: Bot, channel: str, render: Render) -> None:
        self.bot = bot
        self.channel = channel
        self.render = render

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        sent = await telegram_call(self.bot.send_message(
            chat_id=self.channel, text=statement.text))
        return Posted(str(sent.message_id), self.link(sent.message_id))

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        try:
            await telegram_call(self.bot.edit_message_text(
                chat_id=self.channel, message_id=int(message),
                text=marked_updated(self.render, earlier, later)))
        except BadRequest as error:  # marked already, by an attempt whose end was lost
            if "not modified" not in error.message.lower():
                raise

    def link(self, message_id: int) -> str:
        """`t.me/<name>/<id>` for a public channel, `t.me/c/<id>/<id>` for a private one."""
        if self.channel.startswith("@"):
            return f"https://t.me/{self.channel[1:]}/{message_id}"
        return f"https://t.me/c/{self.channel.removeprefix('-100')}/{message_id}"


class SlackChannel:
    """`chat.postMessage` to a channel the app is in; a retry first looks for the message an
    earlier attempt posted (by its metadata), so a statement is posted once."""

    name = SLACK

    def __init__(self, chat: SlackChat, channel: str, render: Render) -> None:
        self.chat = chat
        self.channel = channel
        self.render = render

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        channel = await self._channel()
        ts = await self.chat.post_plain(channel, statement.text, once=once)
        return Posted(ts, await self.chat.permalink(channel, ts))

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        await self.chat.edit_plain(await self._channel(), message,
                                   marked_updated(self.render, earlier, later))

    async def _channel(self) -> str:
        found = await self.chat.channel_id(self.channel)
        if found is None:
            raise LookupError(f"Slack channel {self.channel} not found: invite the app to it "
                              "(/invite in the channel), or name another to publish to")
        return found


class SignedWebhook:
    """POSTs each statement as JSON, signed as Standard Webhooks says (`webhook-id`,
    `webhook-timestamp`, `webhook-signature`). The id is the publication's, so a receiver
    that sees a retry can tell it already has it. A correction is an `statement.updated`
    event naming the statement it replaces."""

    name = WEBHOOK

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.url = url
        self.timeout = timeout
        self.signer = Webhook(secret)
        self.now = now

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        body = json.dumps(payload(statement, earlier), ensure_ascii=False).encode()
        at = self.now()
        signature = self.signer.sign(statement.key, at, body.decode())
        headers = {"content-type": "application/json", "webhook-id": statement.key,
                   "webhook-timestamp": str(int(at.timestamp())),
                   "webhook-signature": signature}
        try:  # a client per statement: they are rare, and nothing is left open at exit
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as error:
            raise RetryLater(f"webhook unreachable: {error!r}") from error
        if answer.status_code == 429 or answer.status_code >= 500:
            after = answer.headers.get("retry-after", "")
            raise RetryLater(f"webhook answered HTTP {answer.status_code}",
                             float(after) if after.isascii() and after.isdigit() else None)
        if answer.status_code >= 300:
            raise RuntimeError(f"webhook refused the statement: HTTP {answer.status_code} "
                               "(check the webhook's address and secret with its receiver)")
        return Posted(None, _without_credentials(self.url))

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        """The `statement.updated` event of the correction says it."""


def payload(statement: Publication, earlier: Publication | None) -> dict[str, object]:
    """The event body (`type`, `timestamp`, `data`, as Standard Webhooks suggests)."""
    return {
        "type": "statement.updated" if earlier is not None else "statement.published",
        "timestamp": statement.at.isoformat(),
        "data": {
            "id": statement.key, "incident": statement.incident_id,
            "draft": statement.draft, "version": statement.version,
            "text": statement.text, "sha256": statement.sha256,
            "language": statement.language, "title": statement.title,
            "published_at": statement.at.isoformat(),
            "replaces": earlier.key if earlier is not None else None,
        },
    }


def _without_credentials(url: str) -> str:
    """The webhook's address as a link, without user info, query, fragment or a path segment
    that reads as a token (tokens live there)."""
    parts = urlsplit(url)
    path = "/".join("…" if TOKEN_SEGMENT.fullmatch(seg) else seg for seg in parts.path.split("/"))
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], path, "", ""))
