"""The built-in alert sources' names: the path of `POST /alerts/<source>` and the `source` of
the alerts each brings (in the database and the routes' `match.source`), so a contract with
senders and teams; a team's `[[alerts.mappings]]` add names of their own."""

GENERIC = "generic"
ALERTMANAGER = "alertmanager"
GRAFANA = "grafana"
CLOUDEVENTS = "cloudevents"
PAGERDUTY = "pagerduty"
MENTIONS = "mentions"
"""Social-media mentions: counted into their topic's series, opening an incident on a spike."""
FEEDS = "feeds"
"""Polled RSS/Atom feeds: the source of their raw deliveries; their entries are `MENTIONS`."""
