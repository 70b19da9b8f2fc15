"""The deployment recipe (`compose.yaml`, docs/deployment.md) parses and wires what the page
says: PostgreSQL, a one-shot migration, the replicas behind the proxy, only real settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_compose_runs_postgres_a_migration_replicas_and_a_proxy() -> None:
    services = compose()["services"]
    replicas = sorted(name for name in services if re.fullmatch(r"crisisbot-\d+", name))
    assert len(replicas) >= 2
    assert {"postgres", "migrate", "caddy"} <= set(services)
    assert services["migrate"]["command"] == ["crisisbot", "db", "upgrade"]
    for name in replicas:
        replica = services[name]
        assert replica["environment"]["CRISISBOT_DATABASE_URL"].startswith(
            "postgresql+asyncpg://")
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    caddyfile = compose()["configs"]["caddyfile"]["content"]
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None
    assert upstreams.group(1).split() == [f"{name}:8080" for name in replicas]
    assert "health_uri /healthz" in caddyfile


def test_compose_sets_only_real_settings_and_the_example_env_fills_the_required_ones() -> None:
    environment = compose()["x-crisisbot"]["environment"]
    for name in environment:
        top = name.removeprefix("CRISISBOT_").split("__")[0].lower()
        assert top in Settings.model_fields, name
    text = (ROOT / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = (ROOT / "config" / "deploy.env.example").read_text()
    given = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert required <= given
