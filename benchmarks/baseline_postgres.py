"""The PostgreSQL baseline of the storm: a bare FastAPI endpoint that inserts each raw body into
PostgreSQL with one commit per request (asyncpg, a pool of connections, nothing else). Run as
`python -m benchmarks.baseline_postgres PORT DSN` (a plain `postgresql://` DSN).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Request, Response


def app(dsn: str) -> FastAPI:
    pool: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool.append(await asyncpg.create_pool(dsn, min_size=10, max_size=10))
        async with pool[0].acquire() as connection:
            await connection.execute(
                "create table if not exists raw (id bigserial primary key, body bytea)")
        yield
        await pool[0].close()

    api = FastAPI(lifespan=lifespan)

    @api.post("/alerts/{source}")
    async def receive(source: str, request: Request) -> Response:
        body = await request.body()
        async with pool[0].acquire() as connection:  # autocommit: one commit per request
            await connection.execute("insert into raw (body) values ($1)", body)
        return Response(b'{"ok":true}', media_type="application/json")

    return api


if __name__ == "__main__":
    port, dsn = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(app(dsn), host="127.0.0.1", port=port, log_level="warning", access_log=False)
