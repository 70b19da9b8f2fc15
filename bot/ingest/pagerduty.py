"""`pagerduty`: the webhooks PagerDuty sends (V3, `{"event": {...}}`), and the Events API v2
shape (`event_action`) that many tools emit.

V3: `incident.triggered` (and `reopened`) fires and `incident.resolved` resolves the alert of
that PagerDuty incident; acknowledged, reassigned, priority updated, annotated and the other
incident events are updates, told in the incident's timeline (they never open one). Other
resources (services, `pagey.ping`) are accepted and not stored.

v2: `trigger` fires and `resolve` resolves the alert named by `dedup_key`, which is also the
group (a resolve carries nothing else); `acknowledge` is accepted and not stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, model_validator

from bot.core.models import Alert, AlertStatus
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.core.sources import PAGERDUTY
from bot.ingest.common import Lenient, When, fallback_key, load_json, title_of, utc, validate
from bot.intake import Inbound

NonEmpty = Annotated[str, Field(min_length=1, max_length=255)]


class PdPayload(Lenient):
    summary: Annotated[str, Field(min_length=1, max_length=1024)]
    source: Annotated[str, Field(min_length=1)]
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: When | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: Any = None


class PdLink(Lenient):
    href: str
    text: str = ""


class PdEvent(Lenient):
    routing_key: Annotated[str, Field(min_length=1)]
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: NonEmpty | None = None
    payload: PdPayload | None = None
    links: list[PdLink] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> PdEvent:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger event needs a payload")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"a {self.event_action} event needs a dedup_key")
        return self


class Reference(Lenient):
    id: str | None = None
    summary: str | None = None
    html_url: str | None = None


class Incident(Lenient):
    id: NonEmpty
    title: str = ""
    summary: str = ""
    """A reference (in a note or a status update) has its title here."""
    html_url: str | None = None
    status: str | None = None
    urgency: str | None = None
    priority: Reference | None = None
    service: Reference | None = None
    assignees: list[Reference] = Field(default_factory=list)


class Note(Lenient):
    """Data about an incident rather than the incident (`incident.annotated`'s note, a status
    update, a workflow): the incident it is on, and the note's text if any."""

    incident: Incident
    content: str = Field(default="", validation_alias=AliasChoices("content", "message"))


class V3Event(Lenient):
    id: NonEmpty
    event_type: NonEmpty
    resource_type: str = "incident"
    occurred_at: When | None = None
    agent: Reference | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class V3Webhook(Lenient):
    event: V3Event


FIRES = frozenset({"incident.triggered", "incident.reopened"})
RESOLVES = frozenset({"incident.resolved"})


def parse_pagerduty(inbound: Inbound) -> list[Alert]:
    data = load_json(inbound.body)
    if isinstance(data, dict) and "event" in data:
        return _v3(validate(V3Webhook, data).event, inbound)
    return _v2(validate(PdEvent, data), inbound)


def _v3(event: V3Event, inbound: Inbound) -> list[Alert]:
    if isinstance(event.data.get("incident"), dict):  # a note, a status update, a workflow
        note: Note = validate(Note, event.data, prefix="body.event.data")
        incident, detail = note.incident, note.content
    elif event.resource_type == "incident":
        incident = validate(Incident, event.data, prefix="body.event.data")
        detail = _detail(event, incident)
    else:
        return []
    update = None if event.event_type in FIRES | RESOLVES else \
        event.event_type.removeprefix("incident.")
    resolved = event.event_type in RESOLVES or incident.status == "resolved"
    priority = incident.priority.summary if incident.priority else None
    labels = {k: v for k, v in {
        "incident": incident.id, "service": incident.service.summary if incident.service else None,
        "urgency": incident.urgency, "priority": priority,
        "assignees": ", ".join(a.summary for a in incident.assignees if a.summary),
        "agent": event.agent.summary if event.agent else None,
    }.items() if v}
    return [Alert(
        source=PAGERDUTY,
        dedup_key=f"{PAGERDUTY}:v3:{event.id}",
        group_key=f"{PAGERDUTY}:incident:{incident.id}",
        title=title_of(incident.title, incident.summary, incident.id),
        received_at=inbound.received_at,
        status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING,
        description=detail,
        severity=severity_from_hint(priority) or severity_from_hint(incident.urgency),
        labels=labels,
        url=incident.html_url,
        occurred_at=utc(event.occurred_at),
        fingerprint=f"{PAGERDUTY}:incident:{incident.id}",
        update=update,
    )]


def _detail(event: V3Event, incident: Incident) -> str:
    """What an update changed, in PagerDuty's own words (names, priority)."""
    match event.event_type:
        case "incident.reassigned":
            return ", ".join(a.summary for a in incident.assignees if a.summary)
        case "incident.priority_updated":
            return incident.priority.summary or "" if incident.priority else ""
    return event.agent.summary or "" if event.agent else ""  # who acknowledged, escalated ...


def _v2(event: PdEvent, inbound: Inbound) -> list[Alert]:
    if event.event_action == "acknowledge":
        return []
    payload = event.payload
    identity = event.dedup_key or fallback_key(inbound, 0)
    group = event.dedup_key or (payload.group if payload else None) or identity
    status = AlertStatus.FIRING if event.event_action == "trigger" else AlertStatus.RESOLVED
    stamp = payload.timestamp if payload else None
    labels = {k: v for k, v in {
        "routing_key": event.routing_key,
        "source": payload.source if payload else None,
        "component": payload.component if payload else None,
        "group": payload.group if payload else None,
        "class": payload.class_ if payload else None,
    }.items() if v}
    return [Alert(
        source=PAGERDUTY,
        dedup_key=f"{PAGERDUTY}:{identity}:{status.value}:{stamp or fallback_key(inbound, 0)}",
        group_key=f"{PAGERDUTY}:{group}",
        title=title_of(payload.summary if payload else None, event.dedup_key),
        received_at=inbound.received_at,
        status=status,
        severity=severity_from_hint(payload.severity if payload else None),
        kind=kind_from_hint(payload.class_ if payload else None),
        labels=labels,
        url=event.links[0].href if event.links else None,
        occurred_at=utc(stamp),
        fingerprint=f"{PAGERDUTY}:{identity}",
    )]
