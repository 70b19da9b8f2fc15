"""`crisisbot` as a real process, the way an operator runs it: a verb to completion, or `serve`
until its /healthz answers (from sync and from async tests)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

CRISISBOT = (sys.executable, "-m", "bot")
UP_WITHIN = 30.0
"""Seconds `serve` may take to answer /healthz (imports, migrations, start-up)."""
POLL = 0.05


def process_env(**settings: str) -> dict[str, str]:
    """This process's environment with `settings` on top, and no config file: only what the
    test sets configures the bot."""
    env = {**os.environ, **settings}
    env.pop("CRISISBOT_CONFIG", None)
    return env


def crisisbot(*args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run one verb to its end (the environment as is, plus `env`)."""
    return subprocess.run(
        [*CRISISBOT, *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
        env={**os.environ, **(env or {})}, check=False,
    )


def start_serve(env: dict[str, str], *,
                stderr: int | IO[bytes] = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """`crisisbot serve`, up and answering on CRISISBOT_PORT; its stderr is kept for the test
    (in a pipe, or in a file for a long run: a pipe nobody reads would fill and stall it)."""
    process = subprocess.Popen([*CRISISBOT, "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=stderr)
    url = f"http://127.0.0.1:{env['CRISISBOT_PORT']}/healthz"
    deadline = time.monotonic() + UP_WITHIN
    while True:
        try:
            if httpx.get(url).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError("serve did not come up")
        time.sleep(POLL)


async def start_serve_async(env: dict[str, str], *, stderr: int = asyncio.subprocess.DEVNULL,
                            ) -> asyncio.subprocess.Process:
    """`crisisbot serve` from an async test, not yet answering: see `healthy`."""
    return await asyncio.create_subprocess_exec(
        *CRISISBOT, "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)


async def healthy(port: int | str, process: asyncio.subprocess.Process) -> None:
    """Return once `serve` answers /healthz on `port`; fail at once if it exited."""
    deadline = time.monotonic() + UP_WITHIN
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "serve exited"
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(POLL)
    process.kill()
    raise AssertionError("serve did not come up")
