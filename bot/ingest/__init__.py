"""Alert sources: one module per sender format, each turning a delivery into core `Alert`s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.sources import ALERTMANAGER, CLOUDEVENTS, GENERIC, GRAFANA, MENTIONS, PAGERDUTY
from bot.ingest.alertmanager import AmWebhook, parse_alertmanager
from bot.ingest.cloudevents import CloudEvent, parse_cloudevents
from bot.ingest.common import Batch
from bot.ingest.generic import GenericAlert, parse_generic
from bot.ingest.grafana import GrafanaWebhook, parse_grafana
from bot.ingest.mentions import Mention, parse_mentions
from bot.ingest.pagerduty import PdEvent, parse_pagerduty
from bot.intake import Parser

PARSERS: Mapping[str, Parser] = {
    GENERIC: parse_generic,
    ALERTMANAGER: parse_alertmanager,
    GRAFANA: parse_grafana,
    CLOUDEVENTS: parse_cloudevents,
    MENTIONS: parse_mentions,
    PAGERDUTY: parse_pagerduty,
}

SHAPES: Mapping[str, Any] = {
    GENERIC: GenericAlert | Batch[GenericAlert],
    ALERTMANAGER: AmWebhook,
    GRAFANA: GrafanaWebhook,
    CLOUDEVENTS: CloudEvent | Batch[CloudEvent],
    MENTIONS: Mention | Batch[Mention],
    PAGERDUTY: PdEvent,
}
"""Each source's request body (the native form), for the OpenAPI document: what clients read
and what the fuzz test sends, so it reaches the parsers."""
