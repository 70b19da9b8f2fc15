"""Alert sources: one module per sender format, each turning a delivery into core `Alert`s."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.intake import Parser
from bot.ingest.alertmanager import parse_alertmanager
from bot.ingest.cloudevents import parse_cloudevents
from bot.ingest.generic import parse_generic
from bot.ingest.grafana import parse_grafana
from bot.ingest.mentions import parse_mentions
from bot.ingest.pagerduty import parse_pagerduty

PARSERS: Mapping[str, Parser] = {
    "generic": parse_generic,
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "cloudevents": parse_cloudevents,
    "mentions": parse_mentions,
    "pagerduty": parse_pagerduty,
}
