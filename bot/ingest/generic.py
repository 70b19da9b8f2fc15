"""`generic`: crisisbot's own small JSON schema, for scripts and tools without a native format.

One alert object, or a list of them (see docs/alerts.md).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.core.models import Alert, AlertStatus
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.core.sources import GENERIC
from bot.ingest.common import Batch, Lenient, When, fallback_key, load_json, title_of, utc, validate
from bot.intake import Inbound


class GenericAlert(Lenient):
    title: Annotated[str, Field(min_length=1, max_length=1000)]
    status: AlertStatus = AlertStatus.FIRING
    severity: str | None = None
    kind: str | None = None
    fingerprint: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    group: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    description: str = ""
    url: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    occurred_at: When | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


def to_alert(item: GenericAlert, source: str, key: str, inbound: Inbound) -> Alert:
    """Shared with `cloudevents`, whose `data` may be a generic alert."""
    occurred = utc(item.occurred_at)
    return Alert(
        source=source,
        dedup_key=f"{source}:{key}",
        group_key=f"{source}:{item.group or item.fingerprint or item.title}",
        title=title_of(item.title),
        received_at=inbound.received_at,
        status=item.status,
        description=item.description,
        severity=severity_from_hint(item.severity),
        kind=kind_from_hint(item.kind),
        labels=item.labels,
        url=item.url,
        occurred_at=occurred,
        metrics=item.metrics,
        fingerprint=item.fingerprint,
    )


def parse_generic(inbound: Inbound) -> list[Alert]:
    data = load_json(inbound.body)
    alerts: list[GenericAlert] = (validate(Batch[GenericAlert], data) if isinstance(data, list)
                                  else [validate(GenericAlert, data)])
    result = []
    for index, item in enumerate(alerts):
        if not item.fingerprint:
            key = fallback_key(inbound, index)
        elif item.occurred_at is not None:
            key = f"{item.fingerprint}:{item.occurred_at}:{item.status.value}"
        else:  # which firing, only the delivery can tell (a retry keeps its webhook-id)
            key = f"{item.fingerprint}:{item.status.value}:{fallback_key(inbound, index)}"
        result.append(to_alert(item, GENERIC, key, inbound))
    return result
