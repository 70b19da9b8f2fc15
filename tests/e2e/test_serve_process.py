"""`crisisbot serve` as a real process: a clean exit on SIGTERM, and no acknowledged alert
lost when it is killed with SIGKILL in the middle of a storm."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import process_env, start_serve
from tests.serving import free_port

SECRET = "e2e-secret"


def spawn(db: Path, port: int) -> subprocess.Popen[bytes]:
    return start_serve(process_env(CRISISBOT_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
                                   CRISISBOT_PORT=str(port), CRISISBOT_ALERTS__SECRET=SECRET))


def alert(i: int) -> dict:
    return {"version": "4", "groupKey": "storm", "status": "firing", "alerts": [{
        "status": "firing", "labels": {"alertname": "Storm", "n": str(i)},
        "annotations": {"summary": "Storm"}, "startsAt": "2024-05-14T09:00:00Z",
        "fingerprint": f"fp{i}"}]}


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    process = spawn(tmp_path / "t.db", port)
    response = httpx.post(f"http://127.0.0.1:{port}/alerts/alertmanager", json=alert(0),
                          headers={"authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert b"Traceback" not in (process.stderr.read() if process.stderr else b"")


def test_serve_migrates_the_database_once(tmp_path: Path) -> None:
    """Alembic logs `Context impl …` once per run: `serve` migrates before it builds the bot,
    and the build does not migrate again."""
    port = free_port()
    process = spawn(tmp_path / "m.db", port)
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    log = process.stderr.read().decode() if process.stderr else ""
    assert log.count("alembic.runtime.migration: Context impl") == 1, log
    assert "Running upgrade  -> 0001" in log


@pytest.mark.slow
def test_kill_9_mid_storm_loses_no_acknowledged_alert(tmp_path: Path) -> None:
    db, port = tmp_path / "k.db", free_port()
    process = spawn(db, port)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5,
                          headers={"authorization": f"Bearer {SECRET}"}) as client:
            i = worker
            while not stop.is_set():
                try:
                    response = client.post("/alerts/alertmanager", json=alert(i))
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(response.json()["alerts"][0]["dedup_key"])
                i += 8

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    process.kill()
    stop.set()
    for thread in threads:
        thread.join(10)
    process.wait(10)
    assert len(acknowledged) > 50

    restarted = spawn(db, port)
    try:
        with sqlite3.connect(db) as conn:
            stored = {row[0] for row in conn.execute("select dedup_key from alerts")}
            incidents = conn.execute("select count(*) from incidents").fetchone()[0]
        assert set(acknowledged) <= stored
        assert incidents == 1
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(15) == 0
