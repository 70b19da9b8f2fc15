"""Rows to and from the core dataclasses, by hand, so the core never sees SQLAlchemy and the
schema can evolve without touching it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.models import (
    Alert,
    AlertStatus,
    Answer,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    Incident,
    Notice,
    NoticeKind,
    Severity,
    Space,
    Status,
)
from bot.core.playbooks import Task
from bot.core.publication import Publication
from bot.core.text import Localized
from bot.storage.sql.codec import decode_text, encode_text
from bot.storage.sql.tables import (
    AlertRow,
    DecisionRow,
    DraftRow,
    IncidentRow,
    NoticeRow,
    PublicationRow,
    RoleRow,
    TaskRow,
    VersionRow,
)


def fill_incident(row: IncidentRow, incident: Incident) -> None:
    space = incident.space
    row.title = incident.title
    row.kind = incident.kind.value
    row.severity = incident.severity.value
    row.status = incident.status.value
    row.created_at = incident.created_at
    row.created_by = incident.created_by
    row.acknowledged_at = incident.acknowledged_at
    row.resolved_at = incident.resolved_at
    row.platform = incident.platform
    row.space_platform = space.platform if space else None
    row.space_channel = space.channel if space else None
    row.space_thread = space.thread if space else None
    row.summary_message = incident.summary_message
    row.summary_pinned = incident.summary_pinned
    row.group_key = incident.group_key
    row.language = incident.language
    row.drill = incident.drill
    row.publish_to = None if incident.publish_to is None else list(incident.publish_to)


def role_rows(incident: Incident) -> list[RoleRow]:
    pairs = [(role, person) for role, people in incident.roles.items() for person in people]
    return [RoleRow(position=i, role=role, person=person) for i, (role, person) in
            enumerate(pairs)]


def to_incident(row: IncidentRow) -> Incident:
    roles: dict[str, list[str]] = {}
    for role in row.roles:
        roles.setdefault(role.role, []).append(role.person)
    space = None
    if row.space_platform is not None and row.space_channel is not None:
        space = Space(row.space_platform, row.space_channel, row.space_thread)
    return Incident(
        number=row.number, title=row.title, kind=CrisisKind(row.kind),
        severity=Severity(row.severity), status=Status(row.status), created_at=row.created_at,
        created_by=row.created_by, acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at, roles=roles, platform=row.platform, space=space,
        summary_message=row.summary_message, summary_pinned=bool(row.summary_pinned),
        group_key=row.group_key, language=row.language,
        drill=row.drill,
        publish_to=None if row.publish_to is None else tuple(row.publish_to),
    )


def version_row(version: DraftVersion) -> VersionRow:
    return VersionRow(number=version.number, text=version.text, author=version.author,
                      created_at=version.created_at, message=version.message,
                      published_at=version.published_at)


def decision_row(decision: Decision) -> DecisionRow:
    return DecisionRow(version=decision.version, person=decision.person,
                       approve=decision.approve, at=decision.at, step=decision.step,
                       role=decision.role, reason=decision.reason)


def to_draft(row: DraftRow) -> Draft:
    return Draft(
        incident=row.incident, number=row.number, author=row.author, created_at=row.created_at,
        versions=[DraftVersion(v.number, v.text, v.author, v.created_at, v.message,
                               v.published_at)
                  for v in row.versions],
        target=row.target, state=DraftState(row.state),
        decisions=[Decision(d.version, d.person, d.approve, d.at, d.step, d.role, d.reason)
                   for d in row.decisions],
    )


def to_alert(row: AlertRow) -> Alert:
    return Alert(
        source=row.source, dedup_key=row.dedup_key, group_key=row.group_key, title=row.title,
        received_at=row.received_at, status=AlertStatus(row.status),
        description=row.description,
        severity=Severity(row.severity) if row.severity else None,
        kind=CrisisKind(row.kind) if row.kind else None, labels=row.labels, url=row.url,
        occurred_at=row.occurred_at, metrics=row.metrics, incident=row.incident, id=row.id,
        fingerprint=row.fingerprint, delivery=row.delivery,
    )


def to_notice(row: NoticeRow) -> Notice:
    return Notice(
        incident=row.incident, kind=NoticeKind(row.kind), created_at=row.created_at,
        text=decode_text(row.text) if row.text is not None else None, person=row.person,
        draft=row.draft, version=row.version, thread_of_draft=row.thread_of_draft,
        message=row.message, destination=row.destination, publication=row.publication,
        id=row.id, attempts=row.attempts,
        answer=to_answer(row.answer) if row.answer is not None else None,
    )


def answer_json(answer: Answer) -> dict[str, Any]:
    return {"platform": answer.platform, "chat": answer.chat,
            "lines": [encode_text(line) for line in answer.lines], "thread": answer.thread,
            "reply_to": answer.reply_to, "language": answer.language, "ask": answer.ask}


def to_answer(data: Mapping[str, Any]) -> Answer:
    return Answer(data["platform"], data["chat"], tuple(map(decode_text, data["lines"])),
                  thread=data["thread"], reply_to=data["reply_to"], language=data["language"],
                  ask=data["ask"])


def to_publication(row: PublicationRow) -> Publication:
    return Publication(
        incident=row.incident, draft=row.draft, version=row.version, text=row.text,
        sha256=row.sha256, language=row.language, destinations=tuple(row.destinations),
        at=row.published_at, by=row.published_by, title=row.title, replaces=row.replaces,
        updated_at=row.updated_at, links=dict(row.links), messages=dict(row.messages),
        id=row.id)


def fill_task(row: TaskRow, task: Task) -> None:
    row.role = task.role
    row.title = dict(task.title.texts)
    row.assignee = task.assignee
    row.done_at = task.done_at
    row.done_by = task.done_by


def to_task(row: TaskRow) -> Task:
    return Task(row.incident, row.number, row.role, Localized.of(row.title), row.assignee,
                row.done_at, row.done_by)
