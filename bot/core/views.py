"""What the bot shows, as translatable lines: the pinned summary, draft cards, the timeline.

Every platform renders these the same way (plain lines), and may dress them up (Block Kit,
inline keyboards) from the same objects; the wording lives here once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.core.models import (
    DRAFT_STATE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    Draft,
    EventKind,
    Incident,
    Severity,
    Status,
    TimelineEvent,
    any_role,
    role_name,
)
from bot.core.playbook_views import checklist_summary, language_name
from bot.core.playbooks import Task
from bot.core.publication import DESTINATION_LABELS, Publication
from bot.core.rules import Rules, StepProgress
from bot.core.sources import GENERIC, MENTIONS
from bot.core.text import N_, Joined, Localized, Percent, Prefixed, Text, Who, _

SPACE_PATTERN = "crisis-{number}-{slug}"

NOT_A_DRAFT = _("That message is not a draft card: react to the card itself, or use "
                "“/crisis approve <draft number>”.")


SOURCE_LABELS: Mapping[str, Text] = {
    MENTIONS: _("social listening"),
    GENERIC: _("a webhook"),
}
"""Alert sources told in words; the others are products' own names (Grafana, PagerDuty) or a
team's mapping, shown as they are."""


def source_label(source: str) -> Text | str:
    return SOURCE_LABELS.get(source, source)


def space_name(incident: Incident, pattern: str = SPACE_PATTERN, *,
               ascii_only: bool = False) -> str:
    """`crisis-7-fake-news-about-recall`: the naming pattern channels and topics share (the
    fields are those of `CRISISBOT_SLACK__CHANNEL_PATTERN`). Any script's letters are kept,
    unless the platform takes only ASCII (Slack), where accents fold and the rest drops."""
    title = incident.title.lower()
    if ascii_only:
        title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    word = r"[^a-z0-9]+" if ascii_only else r"[^\w]+"
    slug = re.sub(word, "-", title).strip("-")[:40].strip("-") or "incident"
    name = pattern.format(number=incident.number, slug=slug,
                          severity=incident.severity.value, kind=incident.kind.value)
    return name[:80].rstrip("-")


def role_lines(incident: Incident, rules: Rules, *, vacant: bool = True) -> list[Text]:
    """Who holds which role: the commander first, then each configured role (a role nobody
    holds only when `vacant`: `/crisis roles` says so, the summary leaves it out)."""
    commander = incident.commander
    lines = [_("Commander: {person}", person=Who(commander)) if commander
             else _("Commander: nobody yet — “/crisis ack” to take it")]
    for role in rules.roles:
        people = incident.holders(role)
        if role == "commander" or not (people or vacant):
            continue
        name = role_name(role, capital=True)
        lines.append(_("{role}: {people}", role=name, people=_people(people)) if people
                     else _("{role}: nobody", role=name))
    return lines


def summary_lines(incident: Incident, rules: Rules, drafts: Sequence[Draft] = (),
                  tasks: Sequence[Task] = ()) -> list[Text]:
    lines = [
        _(
            "{drill}{incident}: {title}",
            drill=_("[DRILL] ") if incident.drill else "",
            incident=incident.public_id,
            title=incident.title,
        ),
        _(
            "Severity: {severity} · Kind: {kind} · Status: {status}",
            severity=incident.severity.value,
            kind=KIND_LABELS[incident.kind],
            status=STATUS_LABELS[incident.status],
        ),
    ]
    lines += role_lines(incident, rules, vacant=False)
    if drafts:
        lines.append(
            _(
                "Drafts: {drafts}",
                drafts=Joined(
                    tuple(
                        _("#{number} {state}", number=d.number, state=DRAFT_STATE_LABELS[d.state])
                        for d in drafts
                    )
                ),
            )
        )
    checklist = checklist_summary(tasks)
    if checklist is not None:
        lines.append(checklist)
    if incident.status is Status.TRIGGERED:
        lines.append(_("Next: acknowledge with “/crisis ack”."))
    return lines


def draft_lines(incident: Incident, draft: Draft, rules: Rules) -> list[Text]:
    current = draft.current
    lines = [
        _(
            "Draft #{number} (version {version}) by {author}",
            number=draft.number,
            version=current.number,
            author=Who(current.author),
        )
    ]
    if draft.target:
        lines.append(_("In reply to: {target}", target=draft.target))
    lines.append(_("“{text}”", text=current.text))
    lines += [approval_line(progress) for progress in rules.progress(incident, draft)]
    lines.append(_("State: {state}", state=DRAFT_STATE_LABELS[draft.state]))
    if current.published_at is not None:
        lines.append(_("Published {time}", time=current.published_at))
    if draft.state.value == "pending":
        lines.append(
            _("Approve with ✅ or “/crisis approve {number}”, reject with ❌ or "
              "“/crisis reject {number} <reason>”.", number=draft.number)
        )
    return lines


def timeline_lines(events: Sequence[TimelineEvent]) -> list[Text]:
    return [_("{time} {event}", time=e.at, event=event_text(e)) for e in events]


def help_lines(usage_and_meaning: Iterable[tuple[Text, Text]]) -> list[Text]:
    """`/crisis help`: a heading, then each command's usage and meaning."""
    return [_("crisisbot commands:")] + [
        _("{usage} — {meaning}", usage=usage, meaning=meaning)
        for usage, meaning in usage_and_meaning
    ]


def event_text(event: TimelineEvent) -> Text:
    """One line per timeline event, in words a communications team reads."""
    d: Mapping[str, Any] = event.data
    who = Who(event.actor) if event.actor else ""
    match event.kind:
        case EventKind.DECLARED:
            return _("{who} declared “{title}” ({severity})", who=who, title=d.get("title", ""),
                     severity=d.get("severity", ""))
        case EventKind.ACKNOWLEDGED:
            return _("{who} acknowledged", who=who)
        case EventKind.ALERT_ATTACHED:
            return _("alert from {source}: {title}", source=source_label(d.get("source", "")),
                     title=d.get("title", ""))
        case EventKind.ALERTS_DIGEST:
            return alerts_digest_text(d["count"], d["seconds"], d["distinct"])
        case EventKind.ALERTS_RESOLVED:
            return N_("the alert has resolved", "all {n} alerts have resolved", d["count"])
        case EventKind.ALERT_UPDATE:
            return alert_update_text(d)
        case EventKind.ALERTS_TRUNCATED:
            return truncated_text(d["count"], d.get("source", ""))
        case EventKind.STATUS_CHANGED:
            return _("{who} changed status {old} → {new}", who=who,
                     old=STATUS_LABELS[Status(d["from"])], new=STATUS_LABELS[Status(d["to"])])
        case EventKind.STATUS_UPDATE:
            return _("{who} posted an update: {text}", who=who, text=d.get("text", ""))
        case EventKind.SEVERITY_CHANGED:
            return _("{who} changed severity {old} → {new}", who=who,
                     old=Severity(d["from"]).value, new=Severity(d["to"]).value)
        case EventKind.ROLE_ASSIGNED:
            return _("{who} made {person} {role}", who=who, person=Who(d["person"]),
                     role=role_name(d["role"]))
        case EventKind.ROLE_REMOVED:
            return _("{who} removed {person} from {role}", who=who, person=Who(d["person"]),
                     role=role_name(d["role"]))
        case EventKind.DRAFT_POSTED:
            return _("{who} posted draft #{number}", who=who, number=d["draft"])
        case EventKind.DRAFT_REVISED:
            return _("{who} revised draft #{number} (version {version})", who=who,
                     number=d["draft"], version=d["version"])
        case EventKind.DRAFT_APPROVAL:
            return _("{who} approved draft #{number} v{version} as {role}", who=who,
                     number=d["draft"], version=d["version"], role=role_name(d.get("role", "")))
        case EventKind.DRAFT_APPROVED:
            return _("draft #{number} v{version} is approved and ready to publish",
                     number=d["draft"], version=d["version"])
        case EventKind.DRAFT_REJECTED:
            return _("{who} rejected draft #{number} v{version}: {reason}", who=who,
                     number=d["draft"], version=d["version"], reason=d.get("reason", ""))
        case EventKind.NOTE:
            return _("{who} noted: {text}", who=who, text=d.get("text", ""))
        case EventKind.MESSAGE_PINNED:
            if d.get("author") and d.get("link"):
                return _("{who} pinned a message by {author}: {text} ({link})", who=who,
                         author=Who(d["author"]), text=d.get("text", ""), link=d["link"])
            return _("{who} pinned: {text}", who=who, text=d.get("text", ""))
        case EventKind.REMINDER_SENT:
            return _late(d, _reminder_text(d))
        case EventKind.ESCALATION:
            return _late(d, _("not acknowledged: escalation step {step} to {people}",
                              step=d.get("step", 1), people=_audience(d)))
        case EventKind.RESOLVED:
            return _("{who} resolved the incident{summary}", who=who,
                     summary=Prefixed(": ", d["summary"]) if d.get("summary") else "")
        case EventKind.REOPENED:
            return _("{who} reopened the incident", who=who)
        case EventKind.TASK_DONE:
            return _("{who} completed checklist item {number}: {title}", who=who,
                     number=d.get("task", ""), title=localized(d.get("title")))
        case EventKind.TASK_REOPENED:
            return _("{who} reopened checklist item {number}: {title}", who=who,
                     number=d.get("task", ""), title=localized(d.get("title")))
        case EventKind.TASK_ASSIGNED:
            return _("{who} gave checklist item {number} to {person}", who=who,
                     number=d.get("task", ""), person=Who(d["person"]))
        case EventKind.LANGUAGE_CHANGED:
            if d.get("to"):
                return _("{who} switched the incident's language to {language}", who=who,
                         language=language_name(d["to"]))
            return _("{who} switched the incident back to the team's language", who=who)
        case EventKind.LESSON:
            return _("{who} recorded a lesson: {text}", who=who, text=d.get("text", ""))
        case EventKind.SPACE_ARCHIVED:
            return _late(d, _("archived the incident channel"))
        case EventKind.STATEMENT_PUBLISHED:
            return _("{who} published draft #{number} (version {version}) to {destinations}",
                     who=who, number=d["draft"], version=d["version"],
                     destinations=destination_names(d["destinations"]))
        case EventKind.STATEMENT_DELIVERED:
            return _("draft #{number} (version {version}) is out on {destination}: {link}",
                     number=d["draft"], version=d["version"],
                     destination=destination_names([d["destination"]]), link=d["link"])
    return _("{kind}", kind=event.kind.value)  # pragma: no cover - every kind is matched above


def destination_names(names: Sequence[str]) -> Joined:
    """Where statements went, by name in the reader's language."""
    return Joined(tuple(DESTINATION_LABELS.get(n, n) for n in names))


def publishing_text(published: Publication) -> Text:
    """The answer to whoever publishes (a command, a button): which version goes where."""
    return _("Publishing draft #{number} (version {version}) to {destinations}.",
             number=published.draft, version=published.version,
             destinations=destination_names(published.destinations))


def _reminder_text(d: Mapping[str, Any]) -> Text:
    """Reminders are told from their data (purpose and key), so old events read the same."""
    match d.get("purpose"):
        case "update":
            return _("reminded {people} to post a status update", people=_audience(d))
        case "approval":
            return _("reminded {people} to decide on draft #{number} v{version}",
                     people=_audience(d), number=d.get("draft", ""), version=d.get("version", ""))
        case "review":
            return _("reminded {people} to hold the post-incident review", people=_audience(d))
        case "pulse":
            return _("pulse: {count} mentions in {window}, {negative} negative",
                     count=d.get("count", 0), window=timedelta(minutes=d.get("minutes", 0)),
                     negative=Percent(d.get("negative", 0)))
    return _("reminded {people}", people=_audience(d))


def _audience(d: Mapping[str, Any]) -> Joined | Text:
    people = d.get("people") or []
    return _people(people) if people else _("the channel")


def _late(d: Mapping[str, Any], text: Text) -> Text:
    late = int(d.get("late", 0))
    if late < 60:  # the tick's own granularity, as in core/pace.py
        return text
    return late_text(text, timedelta(minutes=round(late / 60)))


def late_text(text: Text, late: timedelta) -> Text:
    return _("{text} (late by {late})", text=text, late=late)


def alerts_digest_text(count: int, seconds: int, distinct: int) -> Text:
    return N_("+{n} alert in the last {seconds} s, {distinct} distinct.",
              "+{n} alerts in the last {seconds} s, {distinct} distinct.",
              count, seconds=seconds, distinct=distinct)


UPDATE_LABELS: Mapping[str, Text] = {
    "acknowledged": _("acknowledged"),
    "unacknowledged": _("unacknowledged"),
    "reassigned": _("reassigned"),
    "escalated": _("escalated"),
    "delegated": _("delegated"),
    "priority_updated": _("priority changed"),
    "annotated": _("note added"),
    "status_update_published": _("status update published"),
}
"""The updates senders tell about their alerts (PagerDuty's incident events), in words."""


def alert_update_text(d: Mapping[str, Any]) -> Text:
    update = str(d.get("update", ""))
    label = UPDATE_LABELS.get(update) or update.replace("_", " ").replace(".", " ")
    return _("{source}: {title} — {update}{detail}", source=d.get("source", ""),
             title=d.get("title", ""), update=label,
             detail=Prefixed(": ", d["detail"]) if d.get("detail") else "")


def truncated_text(count: int, source: str) -> Text:
    return N_("+{n} alert the sender did not include ({source} sent only part of its group).",
              "+{n} alerts the sender did not include ({source} sent only part of its group).",
              count, source=source)


def localized(value: Any) -> Localized | str:
    """A title stored as `{language: text}` in event data, shown in the reader's language."""
    return Localized.of(value) if isinstance(value, Mapping) and value else ""


def approval_line(progress: StepProgress, *, people: bool = True) -> Text:
    """One approval step of a draft card: how many of how many, from which roles, and (when
    `people`) who approved."""
    return _("Approvals: {have} of {need} ({roles}){people}",
             have=len(progress.approvers), need=progress.step.count,
             roles=any_role(progress.step.roles),
             people=Prefixed(": ", _people(progress.approvers))
             if people and progress.approvers else "")


def _people(people: Sequence[str]) -> Joined:
    return Joined(tuple(Who(p) for p in people))
