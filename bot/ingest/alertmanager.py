"""`alertmanager`: the Prometheus Alertmanager webhook, version 4.

The group key is Alertmanager's `groupKey` (its own grouping, so one storm is one incident);
each alert is deduplicated by fingerprint, start time and status, so a re-sent notification
changes nothing while its resolution still counts.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.core.models import Alert, AlertStatus
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.core.sources import ALERTMANAGER
from bot.ingest.common import Batch, Count, Lenient, When, digest, parse, title_of, utc
from bot.intake import Inbound


class AmAlert(Lenient):
    status: AlertStatus
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: When | None = None
    endsAt: When | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None


class AmWebhook(Lenient):
    version: str = "4"
    groupKey: Annotated[str, Field(min_length=1)]
    status: AlertStatus
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    truncatedAlerts: Count = 0
    alerts: Batch[AmAlert]


def am_alert(source: str, group: str, item: AmAlert, inbound: Inbound,
             metrics: dict[str, float] | None = None, url: str | None = None) -> Alert:
    """One Alertmanager-style alert (Grafana sends the same shape) as a core alert."""
    fingerprint = item.fingerprint or digest(sorted(item.labels.items()))
    return Alert(
        source=source,
        dedup_key=f"{source}:{fingerprint}:{item.startsAt}:{item.status.value}",
        group_key=f"{source}:{group}",
        title=title_of(item.annotations.get("summary"), item.annotations.get("title"),
                       item.labels.get("alertname")),
        received_at=inbound.received_at,
        status=item.status,
        description=item.annotations.get("description", ""),
        severity=severity_from_hint(item.labels.get("severity")),
        kind=kind_from_hint(item.labels.get("crisis_kind") or item.labels.get("kind")),
        labels=item.labels,
        url=url or item.generatorURL,
        occurred_at=utc(item.startsAt),
        metrics=metrics or {},
        fingerprint=f"{source}:{fingerprint}",
    )


def with_truncated(alerts: list[Alert], truncated: int) -> list[Alert]:
    """`truncatedAlerts` (the group held more alerts than the receiver's `max_alerts`) rides
    on the delivery's first alert, so the incident is told once."""
    if alerts and truncated:
        alerts[0].truncated = truncated
    return alerts


def parse_alertmanager(inbound: Inbound) -> list[Alert]:
    hook: AmWebhook = parse(AmWebhook, inbound)
    return with_truncated([am_alert(ALERTMANAGER, hook.groupKey, item, inbound)
                           for item in hook.alerts], hook.truncatedAlerts)
