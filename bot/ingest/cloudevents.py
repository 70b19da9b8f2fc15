"""`cloudevents`: CloudEvents 1.0 over HTTP in structured (`application/cloudevents+json`),
batch (`application/cloudevents-batch+json`) and binary (`ce-*` headers) modes.

Events are unique by `source` + `id` (the spec's rule), which is the dedup key. When `data` is
a crisisbot generic alert it is read as one; otherwise the event's subject or type is the title.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from bot.core.intake import PayloadError, Problem
from bot.core.models import Alert
from bot.core.sources import CLOUDEVENTS
from bot.ingest.common import Batch, Lenient, When, load_json, title_of, utc, validate
from bot.ingest.generic import GenericAlert, to_alert
from bot.intake import Inbound

NonEmpty = Annotated[str, Field(min_length=1)]


class CloudEvent(Lenient):
    specversion: Literal["1.0"]
    id: NonEmpty
    source: NonEmpty
    type: NonEmpty
    subject: str | None = None
    time: When | None = None
    datacontenttype: str | None = None
    data: Any = None


def parse_cloudevents(inbound: Inbound) -> list[Alert]:
    content_type = inbound.headers.get("content-type", "").split(";")[0].strip().lower()
    if "ce-specversion" in inbound.headers:
        events = [_binary(inbound, content_type)]
    elif content_type == "application/cloudevents-batch+json":
        events = validate(Batch[CloudEvent], load_json(inbound.body))
    else:
        events = [validate(CloudEvent, load_json(inbound.body))]
    return [_alert(event, inbound, f"body.{i}" if len(events) > 1 else "body")
            for i, event in enumerate(events)]


def _binary(inbound: Inbound, content_type: str) -> CloudEvent:
    attributes: dict[str, Any] = {k[3:]: v for k, v in inbound.headers.items()
                                  if k.startswith("ce-")}
    data: Any = None
    if inbound.body:
        json_body = content_type in {"", "application/json"} or content_type.endswith("+json")
        data = load_json(inbound.body) if json_body else \
            inbound.body.decode("utf-8", errors="replace")
    event: CloudEvent = validate(CloudEvent, {**attributes, "datacontenttype": content_type,
                                              "data": data}, prefix="headers")
    return event


def _alert(event: CloudEvent, inbound: Inbound, where: str) -> Alert:
    key = f"{event.source}:{event.id}"
    if isinstance(event.data, dict) and "title" in event.data:
        item: GenericAlert = validate(GenericAlert, event.data, prefix=f"{where}.data")
        alert = to_alert(item, CLOUDEVENTS, key, inbound)
        group = item.group or item.fingerprint or item.title
        alert.group_key = f"{CLOUDEVENTS}:{event.source}:{group}"
        alert.occurred_at = alert.occurred_at or utc(event.time)
        return alert
    if event.data is not None and not isinstance(event.data, dict | str):
        raise PayloadError([Problem(f"{where}.data", "expected an object or a string")])
    subject = event.subject or event.type
    return Alert(
        source=CLOUDEVENTS,
        dedup_key=f"{CLOUDEVENTS}:{key}",
        group_key=f"{CLOUDEVENTS}:{event.source}:{subject}",
        title=title_of(event.subject, event.type),
        received_at=inbound.received_at,
        description=event.data if isinstance(event.data, str) else "",
        labels={"type": event.type, "source": event.source},
        occurred_at=utc(event.time),
    )
