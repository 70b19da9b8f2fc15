"""Slack's Web API and markup for crisisbot: escaping, mentions, request checks, and one call
with Slack's "slow down" (and 5xx, lost connections) turned into the outbox's `RetryLater`."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping

import aiohttp
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.models import PersonId
from bot.core.ports import RetryLater
from bot.core.text import Who

PLATFORM = "slack"
METADATA_TYPE = "crisisbot_notice"


def slack_escape(text: str) -> str:
    """Plain text made safe for Slack's markup: `&`, `<` and `>` as Slack's three entities, so
    `<!channel>` or `<https://evil|click>` written by someone else shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescape(text: str) -> str:
    """Slack's text (slash commands, messages) back to plain text: the core keeps plain text
    and the renderer escapes it again on the way out (so nothing is escaped twice)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def refusal(verifier: SignatureVerifier, headers: Mapping[str, str],
            body: bytes) -> tuple[int, str] | None:
    """Why a POST to `/slack/events` is refused before bolt sees it, or None. Bolt reads the
    body before it checks the signature and raises (a 500) on a timestamp that is not a number
    (`int` refuses "²" and thousands of digits too) or a body it cannot parse; here the
    signature comes first (401), then the body must be what bolt reads as a JSON object
    (400)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return 400, "not a Slack request: the body is not UTF-8"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) \
            or not verifier.is_valid(
            text, timestamp, headers.get("x-slack-signature")):
        return 401, "missing or wrong Slack signature"
    content_type = headers.get("content-type", "").split(";")[0] or None
    try:
        parsed = parse_body(text, content_type)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        return 400, "not a Slack request: the body is not a JSON object or a form"
    return None


def slack_mention(who: Who) -> str:
    """`slack:U123` -> `<@U123>`; people of other platforms as plain `@handle` (escaped)."""
    platform, _sep, handle = who.person.partition(":")
    if platform == PLATFORM and re.fullmatch(r"[UWB][A-Z0-9]+", handle):
        return f"<@{handle}>"
    return slack_escape(f"@{who.handle}")


def slack_user(person: PersonId) -> str | None:
    platform, _sep, handle = person.partition(":")
    return handle if platform == PLATFORM and handle else None


async def call(request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await a Web API call, turning what is worth retrying into `RetryLater`."""
    try:
        return await request
    except SlackApiError as error:
        status = error.response.status_code
        if status == 429 or error_code(error) == "ratelimited":
            after = error.response.headers.get("Retry-After")
            raise RetryLater("ratelimited", float(after) if after else None) from error
        if status >= 500:
            raise RetryLater(f"Slack answered HTTP {status}") from error
        raise
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryLater(f"connection to Slack failed: {error!r}") from error


def error_code(error: SlackApiError) -> str:
    """Slack's error code (`name_taken`, ...); empty when the answer was not JSON."""
    data = error.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""

