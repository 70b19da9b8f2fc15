"""`crisisbot login` and `crisisbot incidents` as an operator runs them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.processes import crisisbot


def test_login_prints_a_link_under_the_public_url_and_refuses_a_bad_person(
        tmp_path: Path) -> None:
    env = {"CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
           "CRISISBOT_PUBLIC_URL": "https://crisis.example.org/"}
    done = crisisbot("login", "local:alice", "--ttl", "10m", env=env)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"https://crisis\.example\.org/signin/[\w-]{43}\n", done.stdout)
    refused = crisisbot("login", "alice", env=env)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert "is not a person id" in refused.stderr


def test_incidents_lists_open_ones_first(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert crisisbot("demo", "--db", str(db)).returncode == 0
    everything = crisisbot("incidents", "--db", str(db))
    assert everything.returncode == 0, everything.stderr
    header, *rows = everything.stdout.splitlines()
    assert header.split()[:3] == ["Incident", "Severity", "Status"]
    assert rows[0].startswith("INC-1 ")
    assert "resolved" in rows[0]
    only_open = crisisbot("incidents", "--open", "--db", str(db))
    assert only_open.stdout.strip() == "No incidents."
    assert db.exists()
