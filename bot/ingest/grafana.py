"""`grafana`: the Grafana unified-alerting webhook contact point (`version` "1").

Its alerts have Alertmanager's shape plus `values` (kept as metrics) and panel links; alerts
group by Grafana's `groupKey`, or by alert rule when a sender leaves it out.
"""

from __future__ import annotations

from pydantic import Field

from bot.core.models import Alert, AlertStatus
from bot.core.sources import GRAFANA
from bot.ingest.alertmanager import AmAlert, am_alert, with_truncated
from bot.ingest.common import Batch, Count, Lenient, numbers, parse
from bot.intake import Inbound


class GrafanaAlert(AmAlert):
    values: dict[str, float | None] | None = None
    dashboardURL: str | None = None
    panelURL: str | None = None
    silenceURL: str | None = None
    valueString: str | None = None


class GrafanaWebhook(Lenient):
    version: str = "1"
    status: AlertStatus
    groupKey: str | None = None
    title: str = ""
    state: str = ""
    message: str = ""
    orgId: int | None = None
    externalURL: str | None = None
    commonLabels: dict[str, str] = Field(default_factory=dict)
    truncatedAlerts: Count = 0
    alerts: Batch[GrafanaAlert]


def parse_grafana(inbound: Inbound) -> list[Alert]:
    hook: GrafanaWebhook = parse(GrafanaWebhook, inbound)
    result = []
    for item in hook.alerts:
        group = hook.groupKey or item.labels.get("__alert_rule_uid__") or \
            item.labels.get("alertname") or hook.title or GRAFANA
        metrics = numbers(item.values or {})
        result.append(am_alert(GRAFANA, group, item, inbound, metrics,
                               item.panelURL or item.dashboardURL))
    return with_truncated(result, hook.truncatedAlerts)
