"""Keeping pace: the escalations and reminders `bot.core.pace` says are due, each performed
with its timeline event in one transaction, on the scheduler's tick."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bot.core.models import SYSTEM, NoticeKind
from bot.core.pace import Action, due_actions, watch_horizon, watched
from bot.core.tx import Tx
from bot.core.usecases.drills import feed_drills
from bot.core.usecases.env import Env, Run

FORGOTTEN_AFTER = timedelta(days=2)
"""How long a chat event id is remembered (so a re-delivered event is handled once), and an
unanswered question waits for its reply. Slack retries an event for about an hour and
Telegram keeps an update for a day: an id older than this will not come again, and the tables
would otherwise grow with every event."""


async def tick(run: Run, env: Env, now: datetime) -> int:
    """Perform every escalation and reminder that is due, one incident per transaction, feed
    the drills and forget old event ids; return how many actions were performed."""

    async def watched_now(tx: Tx) -> list[int]:
        recent = await tx.unit.incidents(resolved_since=now - watch_horizon(env.schedule))
        return [i.number for i in recent if watched(i, env.schedule, now)]

    async def forget(tx: Tx) -> None:
        await tx.unit.forget(now - FORGOTTEN_AFTER)

    performed = 0
    for number in await run(watched_now):
        performed += await run(partial(keep_pace, env=env, number=number))
    performed += await feed_drills(run, env)
    await run(forget)
    return performed


async def keep_pace(tx: Tx, env: Env, number: int) -> int:
    """Re-read the incident inside the transaction, so an ack that just landed wins."""
    incident = await tx.incident(number)
    series = (await tx.unit.mentions(incident.group_key, tx.now - 2 * env.schedule.pulse_every)
              if incident.group_key and env.schedule.pulse_every else [])
    actions = due_actions(incident, await tx.unit.drafts(number),
                          await tx.unit.timeline(number), env.schedule, env.rules, tx.now,
                          series)
    for action in actions:
        await perform(tx, action)
    return len(actions)


async def perform(tx: Tx, action: Action) -> None:
    """The timeline event that marks the action done, and its notices, in one transaction."""
    await tx.record(action.incident, action.event, SYSTEM, **action.data)
    await tx.say(action.incident, action.message, draft=action.draft,
                 version=action.version, thread_of_draft=action.draft is not None)
    if action.dm is not None:
        for person in action.direct:
            await tx.notify(action.incident, NoticeKind.DIRECT, person=person, text=action.dm)
    if action.notice is not None:
        await tx.notify(action.incident, action.notice)
