"""Alert sources: one module per sender format, each turning a delivery into core `Alert`s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.intake import Parser
from bot.ingest.alertmanager import AmWebhook, parse_alertmanager
from bot.ingest.cloudevents import CloudEvent, parse_cloudevents
from bot.ingest.common import Batch
from bot.ingest.generic import GenericAlert, parse_generic
from bot.ingest.grafana import GrafanaWebhook, parse_grafana
from bot.ingest.mentions import Mention, parse_mentions
from bot.ingest.pagerduty import PdEvent, parse_pagerduty

PARSERS: Mapping[str, Parser] = {
    "generic": parse_generic,
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "cloudevents": parse_cloudevents,
    "mentions": parse_mentions,
    "pagerduty": parse_pagerduty,
}

SHAPES: Mapping[str, Any] = {
    "generic": GenericAlert | Batch[GenericAlert],
    "alertmanager": AmWebhook,
    "grafana": GrafanaWebhook,
    "cloudevents": CloudEvent | Batch[CloudEvent],
    "mentions": Mention | Batch[Mention],
    "pagerduty": PdEvent,
}
"""Each source's request body (the native form), for the OpenAPI document: what clients read
and what the fuzz test sends, so it reaches the parsers."""
