"""Slack in: `slack_app`, the bolt app for `/crisis`, reactions, buttons and thread replies,
through the narrow `SlackService`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.inbound import InboundWorker
from bot.chat.slack.api import PLATFORM, call, slack_unescape
from bot.chat.slack.blocks import APPROVE_ACTION, PUBLISH_ACTION, REJECT_ACTION, REJECT_VIEW
from bot.chat.slack.outbound import SlackChat
from bot.chat.slack_syntax import emoji, read_mention
from bot.core.access import Origin
from bot.core.commands import Command, parse
from bot.core.context import Context, Reply
from bot.core.errors import CrisisError
from bot.core.models import Alert, Draft, Incident, PersonId, Space, TimelineEvent
from bot.core.ports import RetryLater
from bot.core.publication import Publication
from bot.core.text import Text, _

log = logging.getLogger(__name__)


class SlackService(Protocol):
    """What the Slack adapter calls on the service, and nothing else."""

    async def first_sight(self, key: str,
                          job: tuple[str, str, dict[str, Any]] | None = None) -> bool: ...
    async def execute(self, command: Command, ctx: Context) -> Reply: ...
    async def incident_for(self, ctx: Context, number: int | None) -> Incident: ...
    async def load(self, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                                list[Alert]]: ...
    async def decide(self, number: int, actor: PersonId, *, approve: bool,
                     draft_number: int | None = None, reason: str = "",
                     message: str | None = None, version: int | None = None) -> Draft: ...
    async def revise(self, number: int, draft_number: int, actor: PersonId,
                     text: str) -> Draft: ...
    async def publish(self, number: int, actor: PersonId, draft_number: int | None = None, *,
                      version: int | None = None) -> Publication: ...
    async def react(self, number: int, actor: PersonId, message: str,
                    added: Sequence[str]) -> Draft | None: ...
    async def note(self, number: int, actor: PersonId, text: str, *,
                   pinned: bool = False, author: PersonId | None = None,
                   link: str | None = None) -> None: ...


def slack_app(service: SlackService, chat: SlackChat, *, client: AsyncWebClient,
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
    jobs.handle(PUBLISH_JOB, inbound.publish)
    app.middleware(inbound.our_workspace)
    app.middleware(inbound.once_per_request)
    app.middleware(inbound.once_per_event)
    app.command("/crisis")(inbound.command)
    app.event("reaction_added")(_acknowledged)  # the work is a job (`once_per_event`)
    app.event("message")(_acknowledged)
    app.action(APPROVE_ACTION)(inbound.pressed)
    app.action(PUBLISH_ACTION)(inbound.pressed)
    app.action(REJECT_ACTION)(inbound.reject_button)
    app.view(REJECT_VIEW)(inbound.reject_submitted)
    return app


REACTION_JOB, REPLY_JOB = "slack.reaction", "slack.reply"
APPROVE_JOB, PUBLISH_JOB = "slack.approve", "slack.publish"
BUTTON_JOBS = {APPROVE_ACTION: APPROVE_JOB, PUBLISH_ACTION: PUBLISH_JOB}
"""The job each button that decides something is stored as (Reject only opens a modal)."""
PRESS_FIELDS = ("channel", "container", "user", "actions")
"""What a press's job keeps of its payload: where, by whom, which button (not the request's
`token`, `trigger_id` or `response_url`)."""
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
    """The listeners; each turns a Slack payload into a call of the `SlackService`. Commits
    wake the outbox (the service's `after_commit`), which posts what the channel should see.
    Reactions, thread replies and Approve and Publish presses are stored as jobs before Slack
    is answered and carried out by the `InboundWorker`, retried while Slack or the database
    fail. The rest is answered with its outcome: a command through its `response_url`, the
    Reject modal's submission (decided before Slack is answered) in the modal; the Reject
    button only opens that modal."""

    def __init__(self, service: SlackService, chat: SlackChat, jobs: InboundWorker,
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
            if not await self.service.first_sight(f"slack:signed:{digest}"):
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
            first = await self.service.first_sight(
                f"slack:{event_id}", (PLATFORM, job, dict(event)) if job is not None else None)
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
        try:
            reason_for = await self.service.react(number, f"{PLATFORM}:{user}", ts,
                                                  [emoji(name)])
        except CrisisError as refused:
            await self._whisper(channel, user, [refused.text])
            return
        if reason_for is not None:  # a ❌ the core wants the reason for
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

    async def pressed(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Approve or Publish: stored as its job before Slack hears "ok", done by the worker
        (a process that dies after answering leaves the job for the next one)."""
        job = BUTTON_JOBS[str(body["actions"][0]["action_id"])]
        await self.jobs.record(PLATFORM, job, {k: body[k] for k in PRESS_FIELDS if k in body})
        await ack()

    async def approve(self, body: dict[str, Any]) -> None:
        channel, ts, user = _clicked(body)
        number = int(body["actions"][0]["value"].split(":")[0])
        try:
            await self.service.decide(number, f"{PLATFORM}:{user}", approve=True, message=ts)
        except CrisisError as refused:
            await self._whisper(channel, user, [refused.text])

    async def publish(self, body: dict[str, Any]) -> None:
        """Publish the version the card shows (an older card's press is refused)."""
        channel, _ts, user = _clicked(body)
        number, draft, version = (int(v) for v in body["actions"][0]["value"].split(":"))
        try:
            await self.service.publish(number, f"{PLATFORM}:{user}", draft, version=version)
        except CrisisError as refused:
            await self._whisper(channel, user, [refused.text])

    async def reject_button(self, ack: AsyncAck, body: dict[str, Any],
                            client: AsyncWebClient) -> None:
        """Ask for the reason in a modal; the decision is taken when it is submitted. Not a
        job: nothing is decided yet, and the `trigger_id` opening the modal lasts 3 seconds,
        so a modal opened later (after a restart) would be refused by Slack."""
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

    async def _pin_to_timeline(self, number: int, channel: str, ts: str, user: str) -> None:
        found = await call(self.chat.client.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1))
        messages: list[dict[str, Any]] = found.get("messages", [])
        message = next((m for m in messages if m.get("ts") == ts), None)
        if (message is None or message.get("bot_id")
                or message.get("user") == await self.chat.bot_user()):
            return  # the bot's own words are on record already
        link = await call(self.chat.client.chat_getPermalink(channel=channel, message_ts=ts))
        author = message.get("user")
        await self.service.note(number, f"{PLATFORM}:{user}",
                                slack_unescape(str(message.get("text", ""))),
                                pinned=True, author=f"{PLATFORM}:{author}" if author else None,
                                link=str(link.get("permalink") or "") or None)

    async def _whisper(self, channel: str, user: str, lines: Sequence[Text], *,
                       thread: str | None = None) -> None:
        try:
            await call(self.chat.client.chat_postEphemeral(
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
