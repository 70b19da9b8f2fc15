"""`crisisbot demo`: a scripted crisis told through the real service, on SQLite and the local
chat. Only the clock is scripted, so the report's times read like a real morning."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.app.wiring import Bot
from bot.core.models import Alert, CrisisKind, Severity, public_id
from bot.core.sources import MENTIONS
from bot.core.text import _

POST = "https://social.example/@truthseeker/1789"


class ScriptedClock:
    """Demo time: starts at a fixed morning and moves only when the script says so."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, minutes: float) -> None:
        self.at += timedelta(minutes=minutes)


def mention(n: int, at: datetime, title: str, text: str, reach: int) -> Alert:
    return Alert(
        source=MENTIONS,
        dedup_key=f"mentions:demo-{n}",
        group_key="mentions:brightmilk-recall",
        title=title,
        received_at=at,
        description=text,
        severity=Severity.SEV2,
        kind=CrisisKind.DISINFORMATION,
        labels={"brand": "BrightMilk", "network": "social.example"},
        url=POST,
        occurred_at=at,
        metrics={"reach": reach, "sentiment": -0.8},
    )


# The story's own words (the posts, the team's updates and statements) are messages too, so a
# Russian or Persian demo reads as a Russian or Persian team would live it.
TITLE = _("Viral post claims BrightMilk yogurt is being recalled")
POSTS = (
    (_("BrightMilk recalls all yogurt, poisoned batch!!! share before they delete"), 48_000),
    (_("My kids ate BrightMilk yesterday, is it true about the recall?"), 1_200),
    (_("Boycott BrightMilk, they hid the recall"), 9_500),
)
EVIDENCE = _("Collecting evidence: no recall exists; contacting the platform.")
FIRST_DRAFT = _("A post claims BrightMilk yogurt is being recalled because of poisoning. "
                "This is false.")
REJECTION = _("Do not repeat the false claim; point people to the official recall register "
              "instead.")
SECOND_DRAFT = _("BrightMilk products are safe and on sale. There is no recall: check the "
                 "official register at food-safety.example.")
PUBLISHED = _("Statement published on every channel; mention volume is falling.")
RESOLUTION = _("The fake recall story is debunked and the original post was removed.")
LESSON = _("Brief the spokesperson on rebuttal wording before the first draft: never repeat "
           "the false claim.")


async def run(bot: Bot, clock: ScriptedClock, out: Callable[[str], None]) -> int:
    """Play the story; return the incident number."""
    session, chat = bot.session(), bot.local
    words = chat.render
    out(words(_("== Alerts arrive from social listening")))
    number = 0
    for n, (text, reach) in enumerate(POSTS, start=1):
        alert = mention(n, clock.now(), words(TITLE), words(text), reach)
        outcome = await bot.service.handle_alert(alert)
        await bot.delivery.flush()
        number = outcome.incident or number
        told = (_("alert {n}: opened {incident}", n=n, incident=public_id(number))
                if outcome.opened else
                _("alert {n}: attached to {incident}", n=n, incident=public_id(number)))
        out("   " + words(told))
        clock.advance(1)
    channel = await chat.space_of(number)

    out(words(_("== The team responds")))
    clock.advance(2)
    await session.say("bob", "/crisis ack", channel)
    clock.advance(1)
    for person, role in [("carol", "spokesperson"), ("dave", "approver"), ("erin", "approver"),
                         ("frank", "legal"), ("gina", "monitor")]:
        await session.say("bob", f"/crisis role @{person} {role}", channel)
    clock.advance(2)
    await session.say("bob", f"/crisis status responding {words(EVIDENCE)}", channel)
    clock.advance(1)
    await session.say("gina", "/crisis task done 1", channel)
    clock.advance(5)
    await session.say("carol", f"/crisis draft to:{POST} {words(FIRST_DRAFT)}", channel)
    clock.advance(3)
    await session.say("frank", f"/crisis reject 1 {words(REJECTION)}", channel)
    clock.advance(5)
    await session.say("carol", f"/crisis draft revise 1 {words(SECOND_DRAFT)}", channel)
    card = await chat.draft_message(channel, 1)
    clock.advance(1)
    await session.react("carol", channel, card, "white_check_mark")
    clock.advance(2)
    await session.react("dave", channel, card, "white_check_mark")
    clock.advance(2)
    await session.say("erin", "/crisis approve 1", channel)
    clock.advance(1)
    await session.say("carol", "/crisis task done 3", channel)
    clock.advance(14)
    await session.say("bob", f"/crisis status monitoring {words(PUBLISHED)}", channel)
    clock.advance(50)
    await session.say("bob", f"/crisis resolve {words(RESOLUTION)}", channel)
    await session.say("bob", f"/crisis lesson {words(LESSON)}", channel)
    return number


DEMO_START = datetime(2026, 3, 14, 8, 30, tzinfo=UTC)
