"""`pagerduty`: the PagerDuty Events API v2 shape, which many tools can emit.

`trigger` fires and `resolve` resolves the alert named by `dedup_key`; `acknowledge` is a
PagerDuty-side state with no crisisbot meaning, accepted and not stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from bot.core.intake import Inbound
from bot.core.models import Alert, AlertStatus
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.ingest.common import Lenient, When, fallback_key, parse, title_of, utc


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
    dedup_key: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    payload: PdPayload | None = None
    links: list[PdLink] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs(self) -> PdEvent:
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger event needs a payload")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"a {self.event_action} event needs a dedup_key")
        return self


def parse_pagerduty(inbound: Inbound) -> list[Alert]:
    event: PdEvent = parse(PdEvent, inbound)
    if event.event_action == "acknowledge":
        return []
    payload = event.payload
    identity = event.dedup_key or fallback_key(inbound, 0)
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
        source="pagerduty",
        dedup_key=f"pagerduty:{identity}:{status.value}:{stamp or fallback_key(inbound, 0)}",
        group_key=f"pagerduty:{(payload.group if payload else None) or identity}",
        title=title_of(payload.summary if payload else None, event.dedup_key),
        received_at=inbound.received_at,
        status=status,
        severity=severity_from_hint(payload.severity if payload else None),
        kind=kind_from_hint(payload.class_ if payload else None),
        labels=labels,
        url=event.links[0].href if event.links else None,
        occurred_at=utc(stamp),
        fingerprint=f"pagerduty:{identity}",
    )]
