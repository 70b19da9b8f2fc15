"""Slack: incident channels and messages out (`SlackChat`, the core `Chat` port on the Web API),
`/crisis`, reactions, buttons and thread replies in (`slack_app`, a bolt `AsyncApp`).

Outbound calls come from the outbox worker and change things, so they never retry on their own
(no slack_sdk retry handlers on that client): a 429, a 5xx or a lost connection becomes
`RetryLater` and the outbox decides when to try again. Each post carries message metadata
naming its notice, so a retry after a crash first looks for the message it may already have
posted, and a taken channel name is first checked for the channel an earlier attempt created.
Every call is bounded by the client's timeout (`slack.timeout`).

Inbound handlers answer within Slack's 3 seconds (ack first, work after) and speak to the
sender alone (ephemeral messages). Requests are authorized from the bot's identity, fetched
once at start-up (`SlackChat.identify`), never by calling Slack on a user's request. Each
Events API delivery is handled once, remembered in the database by its `event_id`; the work a
reaction, a thread reply or an Approve press asks for is stored with it as an inbound job,
before Slack is answered, and carried out (and retried) by the `InboundWorker`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.chat.inbound import InboundWorker
from bot.chat.slack_syntax import emoji, read_mention
from bot.core.access import Origin
from bot.core.commands import parse
from bot.core.errors import CrisisError
from bot.core.models import Draft, DraftState, InboundJob, Incident, PersonId, Space
from bot.core.ports import Once, RetryLater
from bot.core.rules import reaction_decision
from bot.core.service import Service
from bot.core.text import Raw, Text, Who, _
from bot.core.usecase import Context
from bot.core.views import space_name

log = logging.getLogger(__name__)

PLATFORM = "slack"
METADATA_TYPE = "crisisbot_notice"
APPROVE_ACTION, REJECT_ACTION, REJECT_VIEW = "crisis_approve", "crisis_reject", "crisis_reject"
PUBLISH_ACTION = "crisis_publish"
SECTION_LIMIT = 3000
"""Slack's limit for the text of one section block."""

RenderFor = Callable[[str | None], Callable[[Text], str]]
"""language (None = the default) -> a function rendering `Text` with Slack mentions."""


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
    or a body it cannot parse; here the signature comes first (401), then the body must be
    what bolt reads as a JSON object (400)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return 400, "not a Slack request: the body is not UTF-8"
    if not timestamp.isdigit() or not verifier.is_valid(
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


def channel_name(pattern: str, incident: Incident) -> str:
    """A channel name by Slack's rules: lowercase letters, digits, `-` and `_`, at most 80."""
    name = space_name(incident, pattern, ascii_only=True).lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", name)
    return re.sub(r"-{2,}", "-", name)[:80].strip("-") or f"crisis-{incident.number}"


def _numbered(base: str, n: int) -> str:
    suffix = f"-{n}"
    return base[:80 - len(suffix)].rstrip("-") + suffix


async def _call(request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await a Web API call, turning what is worth retrying into `RetryLater`."""
    try:
        return await request
    except SlackApiError as error:
        status = error.response.status_code
        if status == 429 or _error(error) == "ratelimited":
            after = error.response.headers.get("Retry-After")
            raise RetryLater("ratelimited", float(after) if after else None) from error
        if status >= 500:
            raise RetryLater(f"Slack answered HTTP {status}") from error
        raise
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RetryLater(f"connection to Slack failed: {error!r}") from error


def _error(error: SlackApiError) -> str:
    """Slack's error code (`name_taken`, ...); empty when the answer was not JSON."""
    data = error.response.data
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text by lines (a line itself by force) into pieces of at most `limit`."""
    pieces: list[str] = []
    current = ""
    for whole in text.splitlines():
        for line in [whole[i:i + limit] for i in range(0, len(whole), limit)] or [""]:
            if current and len(current) + 1 + len(line) > limit:
                pieces.append(current)
                current = line
            else:
                current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return pieces


def _sections(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in _chunks(text)[:50]]


def draft_blocks(lines: Sequence[str], draft: Draft, render: Callable[[Text], str], *,
                 publish: bool = False) -> list[dict[str, Any]]:
    """A draft card: the heading in bold, the statement and its approvals as the core words
    them (`views.draft_lines`), and Approve / Reject buttons while a decision is due."""
    head, *body = lines
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head[:SECTION_LIMIT - 2]}*"}},
        *_sections("\n".join(body))[:45],
    ]
    if draft.state is DraftState.PENDING:
        value = f"{draft.incident}:{draft.number}:{draft.version}"
        blocks.append({"type": "actions", "block_id": "decide", "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Approve")))}},
            {"type": "button", "action_id": REJECT_ACTION, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Reject")))}},
        ]})
    if publish and draft.state is DraftState.APPROVED and draft.current.published_at is None:
        blocks.append({"type": "actions", "block_id": "publish", "elements": [
            {"type": "button", "action_id": PUBLISH_ACTION, "style": "primary",
             "value": f"{draft.incident}:{draft.number}:{draft.version}",
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Publish")))}}]})
    return blocks


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
            name = base if n == 1 else _numbered(base, n)
            try:
                created = await _call(self.client.conversations_create(name=name))
            except SlackApiError as error:
                if _error(error) != "name_taken":
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
        await _call(self.client.conversations_setTopic(channel=channel, topic=topic[:250]))
        await _call(self.client.conversations_setPurpose(channel=channel,
                                                         purpose=purpose[:250]))
        await self._announce(incident, channel, once)
        return Space(PLATFORM, channel)

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        users = [u for u in (slack_user(p) for p in people) if u]
        if not users:
            return
        try:
            await _call(self.client.conversations_invite(channel=space.channel,
                                                         users=",".join(users), force=True))
        except SlackApiError as error:
            if _error(error) not in {"already_in_channel", "cant_invite_self"}:
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
                  else _sections("\n".join(shown)))
        metadata = None
        if once is not None:
            payload: dict[str, Any] = {"notice": once.notice}
            if once.subject is not None:
                payload["subject"] = once.subject
            metadata = {"event_type": METADATA_TYPE, "event_payload": payload}
        posted = await _call(self.client.chat_postMessage(
            channel=space.channel, text="\n".join(shown)[:39000], blocks=blocks,
            thread_ts=thread, metadata=metadata, unfurl_links=False))
        return str(posted["ts"])

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        render = self._render_for(language)
        shown = [render(line) for line in lines]
        blocks = (draft_blocks(shown, draft, render, publish=self.publishing) if draft
                  else _sections("\n".join(shown)))
        await _call(self.client.chat_update(channel=space.channel, ts=message,
                                            text="\n".join(shown)[:39000], blocks=blocks))

    async def pin(self, space: Space, message: str) -> None:
        try:
            await _call(self.client.pins_add(channel=space.channel, timestamp=message))
        except SlackApiError as error:
            if _error(error) != "already_pinned":
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
            await _call(self.client.conversations_archive(channel=space.channel))
        except SlackApiError as error:
            if _error(error) != "already_archived":
                raise

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None:
        user = slack_user(person)
        if user is None:
            log.info("not sending a Slack direct message to %s (not a Slack user)", person)
            return
        if user not in self._dm_channels:
            opened = await _call(self.client.conversations_open(users=user))
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
                who = await _call(self.client.auth_test())
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
                page = await _call(self.client.conversations_list(
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
        info = (await _call(self.client.conversations_info(channel=channel)))["channel"]
        purpose = str((info.get("purpose") or {}).get("value", ""))
        names_it = re.search(rf"(?<![\w-]){re.escape(incident.public_id)}(?![\w-])", purpose)
        if info.get("creator") == await self.bot_user() and (names_it or not purpose.strip()):
            return channel
        return None

    async def _posted(self, channel: str, thread: str | None, once: Once) -> str | None:
        """The message an earlier attempt posted for `once`, found by its metadata: the same
        notice, or the same subject (another notice's lost post of the summary)."""
        if thread is not None:
            page = await _call(self.client.conversations_replies(
                channel=channel, ts=thread, include_all_metadata=True, limit=200))
        else:
            page = await _call(self.client.conversations_history(
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
                        self.broadcast_channel, _error(error))


# -- inbound ---------------------------------------------------------------------------------


def slack_app(service: Service, chat: SlackChat, *, client: AsyncWebClient,
              signing_secret: str, jobs: InboundWorker,
              pin_reaction: str = "pushpin") -> AsyncApp:
    """The bolt app for `/slack/events` (or Socket Mode). `client` is for interactive
    answers (ephemeral messages, modals); signature verification stays on. Requests are
    authorized from the identity `chat.identify()` fetched at start-up (bolt's default would
    call `auth.test` on the first request, and answer Slack's "We apologize…" if it failed)."""

    async def authorize() -> AuthorizeResult:
        return chat.identity or await chat.identify(attempts=1)

    app = AsyncApp(client=client, signing_secret=signing_secret, authorize=authorize,
                   request_verification_enabled=True, process_before_response=False)
    inbound = _Inbound(service, chat, jobs, pin_reaction)
    jobs.handle(REACTION_JOB, inbound.reaction)
    jobs.handle(REPLY_JOB, inbound.message)
    jobs.handle(APPROVE_JOB, inbound.approve)
    app.middleware(inbound.our_workspace)
    app.middleware(inbound.once_per_request)
    app.middleware(inbound.once_per_event)
    app.command("/crisis")(inbound.command)
    app.event("reaction_added")(_acknowledged)  # the work is a job (`once_per_event`)
    app.event("message")(_acknowledged)
    app.action(APPROVE_ACTION)(inbound.approve_button)
    app.action(REJECT_ACTION)(inbound.reject_button)
    app.action(PUBLISH_ACTION)(inbound.publish_button)
    app.view(REJECT_VIEW)(inbound.reject_submitted)
    return app


REACTION_JOB, REPLY_JOB, APPROVE_JOB = "slack.reaction", "slack.reply", "slack.approve"
THREAD_VERBS = frozenset({"revise", "reject"})


async def _acknowledged() -> None:
    """Events whose work, if any, was stored as a job before Slack was answered."""


def _job_of(event: Mapping[str, Any]) -> str | None:
    """The job an Events API event asks for, or None when there is nothing to do: a reaction
    on a message, or a `revise:` / `reject:` reply in a thread by a person."""
    if event.get("type") == "reaction_added":
        return REACTION_JOB if (event.get("item") or {}).get("type") == "message" else None
    thread = event.get("thread_ts")
    if (event.get("type") != "message" or event.get("subtype") or event.get("bot_id")
            or not event.get("user") or not thread or thread == event.get("ts")):
        return None
    return REPLY_JOB if _thread_verb(event)[0] in THREAD_VERBS else None


def _thread_verb(event: Mapping[str, Any]) -> tuple[str, str]:
    verb, _sep, rest = slack_unescape(str(event.get("text", ""))).partition(":")
    return verb.strip().lower(), rest


class _Inbound:
    """The listeners; each turns a Slack payload into a use case of the `Service`. Commits
    wake the outbox (the service's `after_commit`), which posts what the channel should see.
    Reactions, thread replies and Approve presses are stored as jobs before Slack is answered
    and carried out by the `InboundWorker`, retried while Slack or the database fail."""

    def __init__(self, service: Service, chat: SlackChat, jobs: InboundWorker,
                 pin_reaction: str) -> None:
        self.service = service
        self.chat = chat
        self.jobs = jobs
        self.pin_reaction = pin_reaction.strip(":")

    async def our_workspace(self, context: AsyncBoltContext, body: dict[str, Any],
                            resp: BoltResponse,
                            next: Callable[[], Awaitable[None]]) -> BoltResponse:
        """Only the installed workspace (the `team_id` of `auth.test`, which bolt's
        authorization middleware has called) is served. A slash command from another one is
        answered by the core's one-line refusal (`Origin.OUTSIDER`); anything else from it
        is acknowledged and dropped."""
        installed = context.authorize_result.team_id if context.authorize_result else None
        teams = {t for t in (context.team_id, context.actor_team_id) if t}
        inside = installed is not None and teams == {installed}
        context["origin"] = Origin.TEAM if inside else Origin.OUTSIDER
        if not inside and "command" not in body:
            log.warning("Slack request from workspace %s (installed: %s) dropped",
                        ",".join(sorted(teams)) or "?", installed)
            return BoltResponse(status=200, body="")
        await next()
        return resp

    async def once_per_request(self, req: AsyncBoltRequest, resp: BoltResponse,
                               next: Callable[[], Awaitable[None]]) -> BoltResponse:
        """A signed request is taken once: a replay of the same bytes (a slash command sent
        again within Slack's five minutes) finds its signature remembered and does nothing.
        (Socket Mode requests carry no signature; Slack's own connection guards them.)"""
        signature = _header(req, "x-slack-signature")
        timestamp = _header(req, "x-slack-request-timestamp")
        if signature and timestamp:
            digest = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
            async with self.service.store.unit() as unit:
                first = await unit.first_sight(f"slack:signed:{digest}",
                                               self.service.clock.now())
            if not first:
                log.warning("replayed Slack request (signed at %s) ignored", timestamp)
                return BoltResponse(status=200, body="")
        await next()
        return resp

    async def once_per_event(self, body: dict[str, Any], resp: BoltResponse,
                             next: Callable[[], Awaitable[None]]) -> BoltResponse:
        """Slack re-delivers an event it thinks we missed (`X-Slack-Retry-Num`); the
        `event_id` is remembered in the database so each is handled once, by one process.
        Work the event asks for is stored as a job in the same transaction, before Slack is
        answered."""
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            event = body.get("event") or {}
            job = _job_of(event)
            now = self.service.clock.now()
            async with self.service.store.unit() as unit:
                first = await unit.first_sight(f"slack:{event_id}", now)
                if first and job is not None:
                    await unit.add_inbound(InboundJob(PLATFORM, job, dict(event), now))
            if not first:
                log.info("Slack event %s already handled", event_id)
                return BoltResponse(status=200, body="")
            if job is not None:
                self.jobs.wake()
        await next()
        return resp

    async def command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
        await ack()
        actor = f"{PLATFORM}:{command['user_id']}"
        ctx = Context(actor, PLATFORM, Space(PLATFORM, str(command["channel_id"])),
                      origin=context.get("origin", Origin.OUTSIDER))
        try:
            reply = await self.service.execute(
                parse(slack_unescape(str(command.get("text", ""))), read_mention), ctx)
            lines = reply.lines
        except CrisisError as refused:
            lines = [refused.text]
        except Exception:
            log.exception("/crisis %s failed", command.get("text", "")[:40])
            lines = [_("Something went wrong on our side; nothing was changed. Try again in a "
                       "minute.")]
        await _answer(respond, self.chat.render(lines)[:39000])

    async def reaction(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        channel, ts, user = str(item["channel"]), str(item["ts"]), str(event["user"])
        name = str(event.get("reaction", "")).split("::")[0]
        number = await self._incident(channel)
        if number is None:
            return
        if name == self.pin_reaction:
            try:
                await self._pin_to_timeline(number, channel, ts, user)
            except CrisisError as refused:  # a 📌 is a note: it needs a role
                await self._whisper(channel, user, [refused.text])
            return
        decision = reaction_decision(emoji(name))
        if decision is None or await self._draft_at(number, ts) is None:
            return
        if decision:
            await self._decide(number, channel, user, ts, approve=True)
        else:
            await self._whisper(channel, user, [_(
                "Why do you reject it? Reply in this thread with “reject: <reason>”, or use "
                "the Reject button.")], thread=ts)

    async def message(self, event: dict[str, Any]) -> None:
        """Thread replies under a draft card: `revise: <text>` posts a new version,
        `reject: <reason>` rejects (`_job_of` left everything else, and bots, alone)."""
        user, thread = event.get("user"), event.get("thread_ts")
        if user == await self.chat.bot_user():
            return
        verb, rest = _thread_verb(event)
        channel = str(event["channel"])
        number = await self._incident(channel)
        draft = await self._draft_at(number, str(thread)) if number is not None else None
        if number is None or draft is None:
            return
        actor = f"{PLATFORM}:{user}"
        try:
            if verb == "revise":
                await self.service.revise(number, draft.number, actor, rest)
            else:
                await self.service.decide(number, actor, approve=False, reason=rest,
                                          message=str(thread))
        except CrisisError as refused:
            await self._whisper(channel, str(user), [refused.text], thread=str(thread))

    async def approve_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await self.jobs.record(PLATFORM, APPROVE_JOB, body)  # stored before Slack hears "ok"
        await ack()

    async def approve(self, body: dict[str, Any]) -> None:
        channel, ts, user = _clicked(body)
        number = int(body["actions"][0]["value"].split(":")[0])
        await self._decide(number, channel, user, ts, approve=True)

    async def publish_button(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Publish the version the card shows (an older card's press is refused)."""
        await ack()
        channel, _ts, user = _clicked(body)
        number, draft, version = (int(v) for v in body["actions"][0]["value"].split(":"))
        try:
            await self.service.publish(number, f"{PLATFORM}:{user}", draft, version=version)
        except CrisisError as refused:
            await self._whisper(channel, user, [refused.text])

    async def reject_button(self, ack: AsyncAck, body: dict[str, Any],
                            client: AsyncWebClient) -> None:
        """Ask for the reason in a modal; the decision is taken when it is submitted."""
        await ack()
        channel, ts, _user = _clicked(body)
        number = int(body["actions"][0]["value"].split(":")[0])
        def render(text: Text) -> str:
            return self.chat.plain([text])

        await client.views_open(trigger_id=body["trigger_id"], view={
            "type": "modal", "callback_id": REJECT_VIEW,
            "private_metadata": json.dumps({"incident": number, "channel": channel, "ts": ts}),
            "title": {"type": "plain_text", "text": render(_("Reject draft"))[:24]},
            "submit": {"type": "plain_text", "text": render(_("Reject"))[:24]},
            "close": {"type": "plain_text", "text": render(_("Cancel"))[:24]},
            "blocks": [{"type": "input", "block_id": "reason", "element": {
                "type": "plain_text_input", "action_id": "reason", "multiline": True},
                "label": {"type": "plain_text",
                          "text": render(_("Why? The team sees the reason."))[:2000]}}],
        })

    async def reject_submitted(self, ack: AsyncAck, body: dict[str, Any],
                               view: dict[str, Any]) -> None:
        """Decide before answering, so a refusal shows in the modal itself."""
        meta = json.loads(view["private_metadata"])
        reason = str(view["state"]["values"]["reason"]["reason"].get("value") or "")
        actor = f"{PLATFORM}:{body['user']['id']}"
        try:
            await self.service.decide(int(meta["incident"]), actor, approve=False,
                                      reason=reason, message=str(meta["ts"]))
        except CrisisError as refused:
            await ack(response_action="errors",
                      errors={"reason": self.chat.plain([refused.text])})
            return
        await ack()

    # -- helpers ----------------------------------------------------------------------------

    async def _incident(self, channel: str) -> int | None:
        try:
            incident = await self.service.incident_for(
                Context(PLATFORM, PLATFORM, Space(PLATFORM, channel), origin=Origin.TEAM),
                None)
        except CrisisError:
            return None
        return incident.number

    async def _draft_at(self, number: int, ts: str) -> Draft | None:
        drafts = (await self.service.load(number))[1]
        return next((d for d in drafts if d.version_by_message(ts) is not None), None)

    async def _decide(self, number: int, channel: str, user: str, ts: str, *,
                      approve: bool) -> None:
        try:
            await self.service.decide(number, f"{PLATFORM}:{user}", approve=approve, message=ts)
        except CrisisError as refused:
            await self._whisper(channel, user, [refused.text])

    async def _pin_to_timeline(self, number: int, channel: str, ts: str, user: str) -> None:
        found = await _call(self.chat.client.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1))
        messages: list[dict[str, Any]] = found.get("messages", [])
        message = next((m for m in messages if m.get("ts") == ts), None)
        if (message is None or message.get("bot_id")
                or message.get("user") == await self.chat.bot_user()):
            return  # the bot's own words are on record already
        link = await _call(self.chat.client.chat_getPermalink(channel=channel, message_ts=ts))
        author = message.get("user")
        await self.service.note(number, f"{PLATFORM}:{user}",
                                slack_unescape(str(message.get("text", ""))),
                                pinned=True, author=f"{PLATFORM}:{author}" if author else None,
                                link=str(link.get("permalink") or "") or None)

    async def _whisper(self, channel: str, user: str, lines: Sequence[Text], *,
                       thread: str | None = None) -> None:
        try:
            await _call(self.chat.client.chat_postEphemeral(
                channel=channel, user=user, text=self.chat.render(lines), thread_ts=thread))
        except (SlackApiError, RetryLater) as error:  # a whisper is not worth a retry
            log.warning("could not answer %s in %s: %s", user, channel, error)


ANSWER_DELAYS = (0.5, 1.0, 2.0, 4.0)
"""Pauses between tries of a command's answer (its `response_url` lasts 30 minutes)."""


async def _answer(respond: AsyncRespond, text: str) -> None:
    """A command's answer, through its `response_url`, tried again while Slack fails."""
    for delay in (*ANSWER_DELAYS, None):
        try:
            sent = await respond(text=text, response_type="ephemeral")
            if sent.status_code < 500 and sent.status_code != 429:
                return
            problem = f"HTTP {sent.status_code}"
        except (aiohttp.ClientError, TimeoutError) as error:
            problem = repr(error)
        if delay is None:
            log.error("could not answer a /crisis command: %s", problem)
            return
        await asyncio.sleep(delay)


def _header(req: AsyncBoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return values[0] if values else None


def _clicked(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """(channel, message ts, user) of a button click."""
    return (str(body["channel"]["id"]), str(body["container"]["message_ts"]),
            str(body["user"]["id"]))
