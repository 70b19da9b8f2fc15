"""`SlackChat`, the core's `Chat` port on Slack's Web API (look-ups Slack rate-limits hard are
cached), and the plain posts a published statement needs."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.slack.api import (
    METADATA_TYPE,
    PLATFORM,
    call,
    error_code,
    slack_escape,
    slack_unescape,
    slack_user,
)
from bot.chat.slack.blocks import channel_name, draft_blocks, numbered, sections
from bot.core.models import Draft, Incident, PersonId, Space
from bot.core.ports import Once, RetryLater
from bot.core.text import Raw, Text, _

log = logging.getLogger(__name__)

RenderFor = Callable[[str | None], Callable[[Text], str]]
"""language (None = the default) -> a function rendering `Text` with Slack mentions."""


class SlackChat:
    """The `Chat` port on Slack's Web API; look-ups Slack rate-limits hard are cached."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, render_for: RenderFor, *,
                 channel_pattern: str = "crisis-{number}-{slug}",
                 broadcast_channel: str | None = None, publishing: bool = False) -> None:
        self.client = client
        self.publishing = publishing
        """Approved cards carry a Publish button (a destination is configured)."""
        self._render_for = render_for
        self.channel_pattern = channel_pattern
        self.broadcast_channel = broadcast_channel
        self.identity: AuthorizeResult | None = None
        self._channel_ids: dict[str, str] | None = None
        self._dm_channels: dict[str, str] = {}

    # -- the Chat port ----------------------------------------------------------------------

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        """Create the incident's channel, or adopt the one an earlier attempt created (its
        answer lost, a later step failed, or the process was killed before recording it): a
        taken name is ours when the bot created it and its purpose names this incident or is
        not set yet. The set-up steps after it (topic, purpose) are safe to repeat."""
        render = self._render_for(incident.language)
        base = channel_name(self.channel_pattern, incident)
        channel: str | None = None
        for n in range(1, 100):
            name = base if n == 1 else numbered(base, n)
            try:
                created = await call(self.client.conversations_create(name=name))
            except SlackApiError as error:
                if error_code(error) != "name_taken":
                    raise
                channel = await self._ours(name, incident)
                if channel is not None:
                    log.info("adopting %s for %s (created by an earlier attempt)", name,
                             incident.public_id)
                    break
                continue
            channel = str(created["channel"]["id"])
            break
        if channel is None:
            raise RuntimeError(f"no free channel name for {incident.public_id} from {base}")
        topic = render(_("{severity} · {title}", severity=incident.severity.value,
                         title=incident.title))
        purpose = render(_("crisisbot incident room for {incident}: {title}",
                           incident=incident.public_id, title=incident.title))
        await call(self.client.conversations_setTopic(channel=channel, topic=topic[:250]))
        await call(self.client.conversations_setPurpose(channel=channel,
                                                         purpose=purpose[:250]))
        await self._announce(incident, channel, once)
        return Space(PLATFORM, channel)

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        users = [u for u in (slack_user(p) for p in people) if u]
        if not users:
            return
        try:
            await call(self.client.conversations_invite(channel=space.channel,
                                                         users=",".join(users), force=True))
        except SlackApiError as error:
            if error_code(error) not in {"already_in_channel", "cant_invite_self"}:
                raise

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        render = self._render_for(language)
        shown = [render(line) for line in lines]
        thread = thread or space.thread
        if once is not None and once.retry:
            found = await self._posted(space.channel, thread, once)
            if found is not None:
                return found
        blocks = (draft_blocks(shown, draft, render, publish=self.publishing) if draft
                  else sections("\n".join(shown)))
        metadata = None
        if once is not None:
            payload: dict[str, Any] = {"notice": once.notice}
            if once.subject is not None:
                payload["subject"] = once.subject
            metadata = {"event_type": METADATA_TYPE, "event_payload": payload}
        posted = await call(self.client.chat_postMessage(
            channel=space.channel, text="\n".join(shown)[:39000], blocks=blocks,
            thread_ts=thread, metadata=metadata, unfurl_links=False))
        return str(posted["ts"])

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        render = self._render_for(language)
        shown = [render(line) for line in lines]
        blocks = (draft_blocks(shown, draft, render, publish=self.publishing) if draft
                  else sections("\n".join(shown)))
        await call(self.client.chat_update(channel=space.channel, ts=message,
                                            text="\n".join(shown)[:39000], blocks=blocks))

    async def pin(self, space: Space, message: str) -> None:
        try:
            await call(self.client.pins_add(channel=space.channel, timestamp=message))
        except SlackApiError as error:
            if error_code(error) != "already_pinned":
                raise

    async def close_space(self, space: Space) -> None:
        """Nothing: a Slack channel stays open after resolve for the review; archiving is the
        team's call."""

    async def reopen_space(self, space: Space) -> None:
        """Nothing: the channel stayed open after resolve. (After the optional auto-archive a
        bot token cannot unarchive it; a member unarchives it from Slack.)"""

    async def archive_space(self, space: Space) -> None:
        """`conversations.archive`, some days after resolution when `schedule.archive_after`
        is set; an already archived channel (a retry, or someone was quicker) is success."""
        try:
            await call(self.client.conversations_archive(channel=space.channel))
        except SlackApiError as error:
            if error_code(error) != "already_archived":
                raise

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None:
        user = slack_user(person)
        if user is None:
            log.info("not sending a Slack direct message to %s (not a Slack user)", person)
            return
        if user not in self._dm_channels:
            opened = await call(self.client.conversations_open(users=user))
            self._dm_channels[user] = str(opened["channel"]["id"])
        await self.post(Space(PLATFORM, self._dm_channels[user]), lines, language=language,
                        once=once)

    # -- helpers ----------------------------------------------------------------------------

    def renderer(self, language: str | None) -> Callable[[Text], str]:
        return self._render_for(language)

    def render(self, lines: Sequence[Text], language: str | None = None) -> str:
        """Slack markup (`mrkdwn`): plain values escaped, mentions as `<@U123>`."""
        render = self._render_for(language)
        return "\n".join(render(line) for line in lines)

    def plain(self, lines: Sequence[Text], language: str | None = None) -> str:
        """For `plain_text` fields (labels, modal titles and errors): no markup to escape."""
        return slack_unescape(self.render(lines, language))

    async def identify(self, *, attempts: int = 5, backoff: float = 1.0) -> AuthorizeResult:
        """Who the bot is (`auth.test`: its user, team), asked once at start-up and kept:
        slash commands and events are authorized from it, never waiting on Slack. Transient
        failures are retried with a doubling pause; a refused token is raised at once."""
        attempt = 1
        while True:
            try:
                who = await call(self.client.auth_test())
                break
            except RetryLater as error:
                if attempt >= attempts:
                    raise
                log.warning("Slack auth.test: %s; retrying", error.reason)
                await asyncio.sleep(error.after or backoff * 2 ** (attempt - 1))
                attempt += 1
        self.identity = AuthorizeResult.from_auth_test_response(
            bot_token=self.client.token, auth_test_response=who)
        return self.identity

    async def bot_user(self) -> str:
        identity = self.identity or await self.identify(attempts=1)
        return str(identity.bot_user_id or identity.user_id)

    async def channel_id(self, name_or_id: str) -> str | None:
        """`C0123` stays as it is; `#name` or `name` is looked up once (the list is cached:
        `conversations.list` is rate-limited hard)."""
        name = name_or_id.lstrip("#")
        if re.fullmatch(r"[CGD][A-Z0-9]{6,}", name):
            return name
        if self._channel_ids is None or name not in self._channel_ids:
            self._channel_ids = {}
            cursor: str | None = None
            while True:
                page = await call(self.client.conversations_list(
                    types="public_channel", exclude_archived=True, limit=1000, cursor=cursor))
                channels: list[dict[str, Any]] = page.get("channels", [])
                self._channel_ids.update({str(c["name"]): str(c["id"]) for c in channels})
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        return self._channel_ids.get(name)

    async def _ours(self, name: str, incident: Incident) -> str | None:
        """The channel named `name`, if an earlier attempt created it for this incident: the
        bot is its creator and its purpose names the incident, or is empty (the attempt
        stopped before setting it; the name carries the incident's number, so no other
        incident of this deployment has it)."""
        channel = await self.channel_id(name)
        if channel is None:
            return None
        info = (await call(self.client.conversations_info(channel=channel)))["channel"]
        purpose = str((info.get("purpose") or {}).get("value", ""))
        names_it = re.search(rf"(?<![\w-]){re.escape(incident.public_id)}(?![\w-])", purpose)
        if info.get("creator") == await self.bot_user() and (names_it or not purpose.strip()):
            return channel
        return None

    async def post_plain(self, channel: str, text: str, *, once: Once) -> str:
        """Post `text` as typed (escaped, no markup, no previews) once: a retry first finds
        the message an earlier attempt posted (by its metadata). Return its timestamp."""
        found = await self._posted(channel, None, once) if once.retry else None
        if found is not None:
            return found
        posted = await call(self.client.chat_postMessage(
            channel=channel, text=slack_escape(text), mrkdwn=False, unfurl_links=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"notice": once.notice}}))
        return str(posted["ts"])

    async def edit_plain(self, channel: str, message: str, text: str) -> None:
        """Replace the text of a message `post_plain` posted."""
        await call(self.client.chat_update(channel=channel, ts=message,
                                           text=slack_escape(text)))

    async def permalink(self, channel: str, message: str) -> str:
        found = await call(self.client.chat_getPermalink(channel=channel, message_ts=message))
        return str(found["permalink"])

    async def _posted(self, channel: str, thread: str | None, once: Once) -> str | None:
        """The message an earlier attempt posted for `once`, found by its metadata: the same
        notice, or the same subject (another notice's lost post of the summary)."""
        if thread is not None:
            page = await call(self.client.conversations_replies(
                channel=channel, ts=thread, include_all_metadata=True, limit=200))
        else:
            page = await call(self.client.conversations_history(
                channel=channel, include_all_metadata=True, limit=100))
        messages: list[dict[str, Any]] = page.get("messages", [])
        for message in messages:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") != METADATA_TYPE:
                continue
            if payload.get("notice") == once.notice or (
                    once.subject is not None and payload.get("subject") == once.subject):
                return str(message["ts"])
        return None

    async def _announce(self, incident: Incident, channel: str, once: Once | None) -> None:
        """Tell the broadcast channel. A rate limit retries the whole opening (which finds its
        channel and this post again); a missing channel or membership is only logged."""
        if not self.broadcast_channel:
            return
        target = await self.channel_id(self.broadcast_channel)
        if target is None:
            log.warning("broadcast channel %s not found", self.broadcast_channel)
            return
        text = _("New incident {incident} ({severity}): {title} — join {channel}",
                 incident=incident.public_id, severity=incident.severity.value,
                 title=incident.title, channel=Raw(f"<#{channel}>"))
        try:
            await self.post(Space(PLATFORM, target), [text], language=incident.language,
                            once=once)
        except SlackApiError as error:
            log.warning("could not announce %s in %s: %s", incident.public_id,
                        self.broadcast_channel, error_code(error))

