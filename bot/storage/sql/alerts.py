"""Alerts and their digests in the database, with the alert intake's batch statements."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.models import Alert, Status
from bot.storage.sql.codec import arrays
from bot.storage.sql.engine import DriverStatement, SqlRole
from bot.storage.sql.incidents import open_by_group
from bot.storage.sql.mappers import to_alert
from bot.storage.sql.tables import AlertRow, Base, DigestRow

# The alert intake's statements, built once and on the tables rather than the mapped classes:
# in a storm the ORM's statement handling cost more than the statements themselves.
_ALERTS = Base.metadata.tables["alerts"]
ALERTS_SEEN = select(_ALERTS.c.dedup_key).where(
    _ALERTS.c.dedup_key.in_(bindparam("keys", expanding=True)))
UNTOLD = _ALERTS.c.told.is_(False)
ADD_ALERTS = {
    dialect: insert(_ALERTS).on_conflict_do_nothing(index_elements=[_ALERTS.c.dedup_key])
    .returning(_ALERTS.c.id)
    for dialect, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}

# On PostgreSQL the batch statements take arrays, so their text is the same whatever the batch
# size: asyncpg prepares each once per connection (a multi-row VALUES or an expanding IN list
# is new SQL for every size, and each new text costs a round trip to prepare it).
PG_LOOK_UP_BATCH = DriverStatement(text(
    "SELECT true, dedup_key, NULL::integer FROM alerts "
    "WHERE dedup_key = ANY(CAST(:keys AS text[])) "
    "UNION ALL "
    "SELECT false, group_key, min(number) FROM incidents "
    "WHERE group_key = ANY(CAST(:groups AS text[])) AND status <> :resolved GROUP BY group_key"
))
_ALERT_ARRAYS = {
    "source": "text", "dedup_key": "text", "group_key": "text", "title": "text",
    "received_at": "timestamptz", "status": "text", "description": "text", "severity": "text",
    "kind": "text", "labels": "json", "url": "text", "occurred_at": "timestamptz",
    "metrics": "json", "incident": "integer", "fingerprint": "text", "delivery": "bigint",
    "told": "boolean",
}
"""The columns of `PG_ADD_ALERTS`, in its order, and how each is sent."""
PG_ADD_ALERTS = DriverStatement(text(
    "INSERT INTO alerts (source, dedup_key, group_key, title, received_at, status, description,"
    " severity, kind, labels, url, occurred_at, metrics, incident, fingerprint, delivery, told)"
    " SELECT source, dedup_key, group_key, title, received_at, status, description, severity,"
    " kind, CAST(labels AS json), url, occurred_at, CAST(metrics AS json), incident,"
    " fingerprint, delivery, told FROM unnest(CAST(:source AS text[]),"
    " CAST(:dedup_key AS text[]), CAST(:group_key AS text[]), CAST(:title AS text[]),"
    " CAST(:received_at AS timestamptz[]), CAST(:status AS text[]),"
    " CAST(:description AS text[]), CAST(:severity AS text[]), CAST(:kind AS text[]),"
    " CAST(:labels AS text[]), CAST(:url AS text[]), CAST(:occurred_at AS timestamptz[]),"
    " CAST(:metrics AS text[]), CAST(:incident AS integer[]), CAST(:fingerprint AS text[]),"
    " CAST(:delivery AS bigint[]), CAST(:told AS boolean[]))"
    " AS a(source, dedup_key, group_key, title, received_at, status, description, severity,"
    " kind, labels, url, occurred_at, metrics, incident, fingerprint, delivery, told)"
    " ORDER BY dedup_key ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
))
"""Rows in dedup key order, so two units inserting the same keys wait on each other in one
order."""


class SqlAlerts(SqlRole):
    """The `Alerts` port."""

    async def alerts_seen(self, dedup_keys: Collection[str]) -> set[str]:
        if not dedup_keys:
            return set()
        found = await self._s.scalars(ALERTS_SEEN, {"keys": list(dedup_keys)})
        return set(found)

    async def look_up_batch(self, dedup_keys: Collection[str],
                            group_keys: Collection[str]) -> tuple[set[str], dict[str, int]]:
        driver = await self._driver()
        if driver is None:  # SQLite: no round trips to save
            return await self.alerts_seen(dedup_keys), await open_by_group(self._s, group_keys)
        rows = await PG_LOOK_UP_BATCH.fetch(driver, {
            "keys": list(dedup_keys), "groups": list(group_keys),
            "resolved": Status.RESOLVED.value})
        seen: set[str] = set()
        groups: dict[str, int] = {}
        for is_alert, key, number in rows:
            if is_alert:
                seen.add(key)
            else:
                groups[key] = number
        return seen, groups

    async def add_alerts(self, alerts: Sequence[Alert], *,
                         untold: Collection[str] = ()) -> int:
        """One multi-row INSERT for the whole batch: a storm costs one statement, not one ORM
        flush per alert. `ON CONFLICT DO NOTHING` on the dedup key: a unit that stored the same
        alert first (another replica) wins and this one counts fewer rows; rows go in dedup key
        order, so two units inserting the same keys wait on each other in one order."""
        if not alerts:
            return 0
        ordered = sorted(alerts, key=lambda a: a.dedup_key)
        rows = [
            {
                "source": a.source, "dedup_key": a.dedup_key, "group_key": a.group_key,
                "title": a.title, "received_at": a.received_at, "status": a.status.value,
                "description": a.description,
                "severity": a.severity.value if a.severity else None,
                "kind": a.kind.value if a.kind else None, "labels": dict(a.labels),
                "url": a.url, "occurred_at": a.occurred_at, "metrics": dict(a.metrics),
                "incident": a.incident, "fingerprint": a.fingerprint, "delivery": a.delivery,
                "told": a.dedup_key not in untold,
            }
            for a in ordered
        ]
        driver = await self._driver()
        if driver is not None:
            return len(await PG_ADD_ALERTS.fetch(driver, arrays(rows, _ALERT_ARRAYS)))
        result = await self._s.execute(ADD_ALERTS[self._dialect], rows)
        return len(result.all())

    async def alerts(self, incident: int) -> list[Alert]:
        rows = await self._s.scalars(
            select(AlertRow).where(AlertRow.incident == incident).order_by(AlertRow.id)
        )
        return [to_alert(row) for row in rows]


class SqlDigests(SqlRole):
    """The `Digests` port: windows in their own table, untold alerts flagged on theirs."""

    async def digest_windows(self, incidents: Collection[int]) -> dict[int, datetime]:
        rows = await self._s.execute(select(DigestRow.incident, DigestRow.since)
                                     .where(DigestRow.incident.in_(list(incidents))))
        return {number: since for number, since in rows}

    async def start_digest(self, incident: int, at: datetime) -> None:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        await self._s.execute(insert(DigestRow).values(incident=incident, since=at)
                              .on_conflict_do_nothing(index_elements=[DigestRow.incident]))

    async def claim_digest(self, incident: int, since: datetime, at: datetime) -> bool:
        """A compare-and-set: a concurrent claimer waits for this row's lock, then finds the
        window moved and updates nothing."""
        moved = await self._s.execute(
            update(DigestRow).where(DigestRow.incident == incident, DigestRow.since == since)
            .values(since=at).returning(DigestRow.incident))
        return moved.first() is not None

    async def tell_untold(self, incident: int) -> list[str]:
        rows = await self._s.execute(
            update(_ALERTS).where(_ALERTS.c.incident == incident, UNTOLD).values(told=True)
            .returning(_ALERTS.c.fingerprint, _ALERTS.c.dedup_key))
        return [fingerprint or dedup_key for fingerprint, dedup_key in rows]

    async def untold_incidents(self) -> list[int]:
        rows = await self._s.scalars(select(_ALERTS.c.incident).where(UNTOLD).distinct())
        return sorted(number for number in rows if number is not None)
