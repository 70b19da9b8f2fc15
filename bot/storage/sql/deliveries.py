"""Raw alert deliveries in the database, stored in one statement per batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert as sa_insert
from sqlalchemy import select, text

from bot.core.models import RawDelivery
from bot.storage.sql.codec import bound_utc, json_dumps
from bot.storage.sql.engine import DriverStatement, SqlRole
from bot.storage.sql.tables import Base, DeliveryRow

_DELIVERIES = Base.metadata.tables["deliveries"]
ADD_DELIVERIES = sa_insert(_DELIVERIES).returning(_DELIVERIES.c.id, sort_by_parameter_order=True)
# One text whatever the batch size, so asyncpg prepares it once (see `alerts.PG_ADD_ALERTS`).
PG_ADD_DELIVERIES = DriverStatement(text(
    "INSERT INTO deliveries (source, received_at, webhook_id, body, headers, _sentinel) "
    "SELECT s, r, w, b, CAST(h AS json), n FROM unnest("
    "CAST(:source AS text[]), CAST(:received_at AS timestamptz[]), CAST(:webhook_id AS text[]),"
    " CAST(:body AS bytea[]), CAST(:headers AS text[]), CAST(:n AS integer[])"
    ") AS d(s, r, w, b, h, n) ORDER BY n RETURNING id, _sentinel"
))


class SqlDeliveries(SqlRole):
    """The `Deliveries` port."""

    async def add_deliveries(self, deliveries: Sequence[RawDelivery]) -> list[int]:
        """One multi-row INSERT ... RETURNING for the batch, ids in the given order."""
        if not deliveries:
            return []
        driver = await self._driver()
        if driver is not None:
            numbered = await PG_ADD_DELIVERIES.fetch(driver, {
                "source": [d.source for d in deliveries],
                "received_at": [bound_utc(d.received_at) for d in deliveries],
                "webhook_id": [d.webhook_id for d in deliveries],
                "body": [d.body for d in deliveries],
                "headers": [json_dumps(dict(d.headers)) for d in deliveries],
                "n": list(range(len(deliveries)))})
            return [number for number, _n in sorted(numbered, key=lambda row: row[1])]
        ids = await self._s.execute(ADD_DELIVERIES, [
            {"source": d.source, "received_at": d.received_at, "webhook_id": d.webhook_id,
             "body": d.body, "headers": dict(d.headers)}
            for d in deliveries
        ])
        return list(ids.scalars())

    async def deliveries(self) -> list[RawDelivery]:
        rows = await self._s.scalars(select(DeliveryRow).order_by(DeliveryRow.id))
        return [RawDelivery(r.source, r.received_at, r.body, r.headers,
                            webhook_id=r.webhook_id, id=r.id) for r in rows]
