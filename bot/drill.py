"""`crisisbot drill <kind>`: a training drill on SQLite and the local chat, told as a transcript.

The drill itself is the service's (`/crisis drill` starts the same thing in a team's chat):
a DRILL incident whose playbook feeds simulated mentions on the scheduler's tick. Here the
clock is scripted, so minutes pass at once, and a small crew rehearses the first moves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.app.wiring import Bot
from bot.core.models import KIND_LABELS, CrisisKind
from bot.core.text import _
from bot.demo import ScriptedClock

TRAINER = "local:trainer"


async def run_drill(bot: Bot, clock: ScriptedClock, kind: CrisisKind,
                    out: Callable[[str], None]) -> int:
    """Start the drill, let its scenario play out minute by minute, rehearse; return the
    incident number."""
    session, chat, service = bot.session(), bot.local, bot.service
    out(chat.render(_("== Drill: {kind}", kind=KIND_LABELS[kind])))
    incident = await service.start_drill(TRAINER, kind)
    await bot.delivery.flush()
    channel = await chat.space_of(incident.number)
    playbook = service.playbooks.get(kind)
    last = max((m.after for m in playbook.drill.mentions), default=timedelta(0)) if (
        playbook and playbook.drill) else timedelta(0)

    out(chat.render(_("== Simulated mentions arrive")))
    for _minute in range(int(last.total_seconds() // 60) + 1):
        clock.advance(1)
        await service.tick()
        await bot.delivery.flush()

    out(chat.render(_("== The team rehearses")))
    await session.say("trainer", "/crisis role @alice commander", channel)
    await session.say("alice", "/crisis ack", channel)
    await session.say("alice", "/crisis role @sam spokesperson", channel)
    await session.say("alice", "/crisis role @pat approver", channel)
    await session.say("alice", "/crisis role @lee approver", channel)
    clock.advance(3)
    await session.say("sam", "/crisis draft template holding", channel)
    clock.advance(2)
    await session.say("pat", "/crisis approve", channel)
    await session.say("lee", "/crisis approve", channel)
    await session.say("alice", "/crisis task done 1", channel)
    await session.say("alice", "/crisis task", channel)
    clock.advance(5)
    lesson = chat.render(_("The holding statement was approved within {window} of the first "
                           "mention.", window=timedelta(minutes=5)))
    await session.say("alice", f"/crisis lesson {lesson}", channel)
    await session.say("alice", "/crisis resolve", channel)
    return incident.number
