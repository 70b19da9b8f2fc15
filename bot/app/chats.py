"""The chat adapters (Slack, Telegram) and the publishing destinations, from settings.

Each platform's libraries are imported by the function that builds its adapter when the
settings enable it (the destinations' when one is set): a verb on the local chat (`stats`,
`report`, `incidents`) does not load slack-sdk, aiohttp and python-telegram-bot, about half a
second of every process."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.app.team import team_renderer
from bot.chat.outbox import Pacing
from bot.core.publication import Destination
from bot.core.rules import Rules
from bot.core.store import Store
from bot.core.text import Renderer, Text, Who
from bot.settings import ConfigError, Settings

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.chat.slack.outbound import SlackChat
    from bot.chat.telegram.outbound import TelegramChat


def pacing_from(settings: Settings) -> Pacing:
    config = settings.outbox
    return Pacing(poll=config.poll.total_seconds(), lease=config.lease.total_seconds(),
                  backoff=config.backoff.total_seconds(),
                  max_backoff=config.max_backoff.total_seconds(),
                  max_attempts=config.max_attempts)


def destinations_from(settings: Settings, rules: Rules, slack: SlackChat | None,
                      telegram: TelegramChat | None) -> dict[str, Destination]:
    """The `[publish]` destinations that are set; a channel needs its platform's bot token
    (a team on Telegram may announce in Slack with the token alone, and the other way)."""
    config = settings.publish
    if not config.configured:
        return {}
    from bot.chat.destinations import SignedWebhook, SlackChannel, StatusPage, TelegramChannel

    def render(text: Text, language: str) -> str:
        return team_renderer(settings, language)(text)

    found: dict[str, Destination] = {}
    if config.status_page:
        found["status"] = StatusPage(settings.base_url)
    if config.telegram_channel:
        if telegram is None:
            raise ConfigError("publish.telegram_channel needs CRISISBOT_TELEGRAM__BOT_TOKEN")
        found["telegram"] = TelegramChannel(telegram.app.bot, config.telegram_channel, render)
    if config.slack_channel:
        if settings.slack.bot_token is None:
            raise ConfigError("publish.slack_channel needs CRISISBOT_SLACK__BOT_TOKEN")
        found["slack"] = SlackChannel(slack or slack_chat(settings, rules),
                                      config.slack_channel, render)
    if config.webhook_url and config.webhook_secret is not None:
        found["webhook"] = SignedWebhook(config.webhook_url,
                                         config.webhook_secret.get_secret_value())
    return found


def slack_client(settings: Settings, *, interactive: bool) -> AsyncWebClient:
    """The outbox's client never retries by itself (the outbox owns retries and checks for an
    earlier post first); the interactive one (ephemeral answers, modals) retries a dropped
    connection and one rate limit, as a person is waiting; bolt gives it the token with each
    request (from the identity fetched at start-up). Both wait at most `slack.timeout`."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
    )
    from slack_sdk.web.async_client import AsyncWebClient

    handlers = ([AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(1)]
                if interactive else [])
    url = settings.slack.api_url
    return AsyncWebClient(token=None if interactive else slack_secret(settings.slack.bot_token),
                          base_url=url if url.endswith("/") else url + "/",
                          timeout=math.ceil(settings.slack.timeout.total_seconds()),
                          retry_handlers=handlers)


def slack_chat(settings: Settings, rules: Rules) -> SlackChat:
    from bot.chat.slack.api import PLATFORM as SLACK
    from bot.chat.slack.api import slack_escape, slack_mention
    from bot.chat.slack.outbound import SlackChat

    def mention(who: Who) -> str:  # a bound person under their Slack id
        return slack_mention(Who(rules.on(SLACK, who.person)))

    def render_for(language: str | None) -> Renderer:
        return team_renderer(settings, language, mention=mention, escape=slack_escape)

    return SlackChat(slack_client(settings, interactive=False), render_for,
                     channel_pattern=settings.slack.channel_pattern,
                     broadcast_channel=settings.slack.broadcast_channel,
                     publishing=settings.publish.configured)


def slack_secret(value: SecretStr | None) -> str:
    if value is None:
        raise ValueError("a Slack credential is missing")
    return str(value.get_secret_value())


def telegram_chat(settings: Settings, rules: Rules, store: Store) -> TelegramChat:
    """The Telegram chat on its PTB `Application` (Telegram mentions, a bound person under
    their Telegram id, the configured language unless the incident has its own), pacing its
    chats through `store`, shared with every other process on the database."""
    from bot.chat.telegram.api import PLATFORM as TELEGRAM
    from bot.chat.telegram.api import build_application
    from bot.chat.telegram.outbound import TelegramChat
    from bot.chat.telegram.pacing import Limits
    from bot.storage.send_slots import StoredSendSlots

    config = settings.telegram
    if config.bot_token is None:
        raise ValueError("Telegram needs CRISISBOT_TELEGRAM__BOT_TOKEN")

    def render_for(language: str | None, mention: Callable[[Who], str]) -> Renderer:
        return team_renderer(settings, language,
                             lambda who: mention(Who(rules.on(TELEGRAM, who.person))))

    app = build_application(config.bot_token.get_secret_value(), config.api_url,
                            config.timeout.total_seconds())
    limits = Limits(per_chat_per_second=config.per_chat_per_second,
                    per_group=config.per_group_per_minute, group_window=60.0)
    return TelegramChat(app, config.chat_id, render_for, StoredSendSlots(store),
                        name_pattern=settings.slack.channel_pattern, limits=limits,
                        publishing=settings.publish.configured)
