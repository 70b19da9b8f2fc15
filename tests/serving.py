"""An ASGI app served by uvicorn on a free loopback port, inside the running event loop, the
way the integration tests and benchmarks talk to the bot (and to bare baselines)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    """A port nothing listens on right now (for a server started as another process)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Serving:
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        """Finish in-flight requests, run the lifespan's shutdown, return when it is done."""
        self.server.should_exit = True
        await self.task


async def serve(app: ASGIApp, *, lifespan: Literal["on", "off"] = "on") -> Serving:
    """Start serving and return once uvicorn listens (or raise what stopped it starting)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False, lifespan=lifespan))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("uvicorn exited before it started listening")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Serving(server, task, f"http://127.0.0.1:{port}")
