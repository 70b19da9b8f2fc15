"""Incidents in the database: numbered by a counter, found by space or by alert group."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.models import Incident, Status
from bot.storage.sql.engine import SqlRole, UnitSession
from bot.storage.sql.mappers import fill_incident, role_rows, to_incident
from bot.storage.sql.tables import Base, CounterRow, IncidentRow

INCIDENT_COUNTER = "incident"

# Built once, on the table (see the intake's statements in `alerts.py`).
_INCIDENTS = Base.metadata.tables["incidents"]
OPEN_BY_GROUP = (
    select(_INCIDENTS.c.group_key, func.min(_INCIDENTS.c.number))
    .where(_INCIDENTS.c.group_key.in_(bindparam("keys", expanding=True)),
           _INCIDENTS.c.status != Status.RESOLVED.value)
    .group_by(_INCIDENTS.c.group_key)
)
GROUP_LOCKS = 0x67726F75
"""The first key of the transaction advisory locks on group keys ("grou"): its own key space,
apart from the leader's one-number lock."""
LOCK_GROUPS = text(
    "SELECT count(pg_advisory_xact_lock(:space, h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS g"
)
"""In one order (by hash), so two units locking overlapping groups never deadlock."""


async def open_by_group(s: UnitSession, group_keys: Collection[str]) -> dict[str, int]:
    """The oldest open incident of each group key that has one (no lock taken)."""
    if not group_keys:
        return {}
    rows = await s.execute(OPEN_BY_GROUP, {"keys": list(group_keys)})
    return {key: number for key, number in rows if key is not None}


class SqlIncidents(SqlRole):
    """The `Incidents` port."""

    async def next_incident_number(self) -> int:
        """An upsert that increments in place: the row lock serializes concurrent units on
        PostgreSQL, SQLite's single writer does the same, and a rollback gives the number back."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(CounterRow).values(name=INCIDENT_COUNTER, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CounterRow.name], set_={"value": CounterRow.value + 1}
        )
        value: int = (await self._s.execute(stmt.returning(CounterRow.value))).scalar_one()
        return value

    async def add_incident(self, incident: Incident) -> None:
        row = IncidentRow(number=incident.number, roles=role_rows(incident))
        fill_incident(row, incident)
        self._s.add(row)
        await self._s.flush()

    async def get_incident(self, number: int) -> Incident | None:
        # Row lock on PostgreSQL (ignored by SQLite, whose units are serialized already), so
        # two units changing one incident cannot both write from a stale read.
        row = await self._s.get(IncidentRow, number, with_for_update=True)
        return to_incident(row) if row else None

    async def update_incident(self, incident: Incident) -> None:
        row = await self._s.get(IncidentRow, incident.number)
        if row is None:
            raise LookupError(f"no incident {incident.number} to update")
        fill_incident(row, incident)
        wanted = role_rows(incident)
        key = [(r.role, r.person) for r in wanted]
        if [(r.role, r.person) for r in row.roles] != key:
            # Delete first: rewriting rows in place could collide on (incident, role, person).
            row.roles.clear()
            await self._s.flush()
            row.roles.extend(wanted)
        await self._s.flush()

    async def incident_by_space(self, platform: str, channel: str) -> Incident | None:
        row = await self._s.scalar(
            select(IncidentRow)
            .where(IncidentRow.space_platform == platform, IncidentRow.space_channel == channel)
            .order_by(IncidentRow.number).limit(1)
        )
        return to_incident(row) if row else None

    async def open_incidents_by_group(self, group_keys: Collection[str]) -> dict[str, int]:
        """On PostgreSQL the groups found without an open incident are locked (transaction
        advisory locks), then looked up again: a unit that opened one meanwhile has committed
        by the time the lock is ours. A group with an open incident (a storm's usual case)
        takes no lock, so replicas attaching alerts to it never wait on each other."""
        found = await open_by_group(self._s, group_keys)
        missing = sorted(set(group_keys) - found.keys())
        if missing and self._dialect == "postgresql":
            await self._s.execute(LOCK_GROUPS, {"space": GROUP_LOCKS, "keys": missing})
            found |= await open_by_group(self._s, missing)
        return found

    async def incidents(self, *, open_only: bool = False,
                        resolved_since: datetime | None = None) -> list[Incident]:
        stmt = select(IncidentRow).order_by(IncidentRow.number)
        is_open = IncidentRow.status != Status.RESOLVED.value
        if resolved_since is not None:
            stmt = stmt.where(or_(is_open, IncidentRow.resolved_at >= resolved_since))
        elif open_only:
            stmt = stmt.where(is_open)
        return [to_incident(row) for row in await self._s.scalars(stmt)]
