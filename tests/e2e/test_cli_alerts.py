"""`crisisbot alerts try` and `check-config` on mappings, as a user runs them (in process:
`main` is what the console script calls)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.intake import MAX_ALERTS
from bot.web import MAX_BODY

ROOT = Path(__file__).parents[2]
SENDERS = ROOT / "tests" / "integration" / "alerts" / "senders"


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def crisisbot(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    def run(*args: str, config: Path) -> Ran:
        monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
        code = main(list(args))
        out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


def shipped(tmp_path: Path) -> Path:
    config = tmp_path / "crisisbot.toml"
    config.write_text((ROOT / "config" / "mappings.example.toml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    return config


def test_alerts_try_shows_what_a_sample_becomes(tmp_path: Path, crisisbot) -> None:
    config = shipped(tmp_path)
    down = crisisbot("alerts", "try", "uptime-kuma", str(SENDERS / "uptime-kuma/down.json"),
                     config=config)
    assert down.returncode == 0, down.stderr
    assert down.stdout.startswith("firing - title='[Shop] [🔴 Down] getaddrinfo ENOTFOUND")
    assert "group='uptime-kuma:29'" in down.stdout
    up = crisisbot("alerts", "try", "uptime-kuma", str(SENDERS / "uptime-kuma/up.json"),
                   config=config)
    assert up.stdout.startswith("resolved ")
    # Built-in sources too: a PagerDuty acknowledgement is an update, not an alert that fires.
    ack = crisisbot("alerts", "try", "pagerduty",
                    str(SENDERS / "pagerduty/acknowledged_v3.json"), config=config)
    assert "update=acknowledged" in ack.stdout


def test_alerts_try_refuses_in_one_line_each(tmp_path: Path, crisisbot) -> None:
    config = shipped(tmp_path)
    wrong = crisisbot("alerts", "try", "uptime-kuma", str(SENDERS / "sentry/issue_created.json"),
                      config=config)
    assert wrong.returncode == 1
    assert wrong.stderr.strip().endswith("body: mapping uptime-kuma: title gave nothing")
    not_json = tmp_path / "x.json"
    not_json.write_text("{", encoding="utf-8")
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe{}")
    too_large = tmp_path / "large.json"  # a valid alert, one byte over the webhook's limit
    too_large.write_bytes(b'{"title": "x"}'.ljust(MAX_BODY + 1))
    assert too_large.stat().st_size == MAX_BODY + 1
    for args, says in [
        (("nope", str(not_json)), "unknown source nope; use one of"),
        (("sentry", str(tmp_path / "missing.json")), "cannot read"),
        (("sentry", str(tmp_path)), "cannot read"),  # a folder: not a readable file
        (("sentry", str(not_json)), "body: not valid JSON"),
        (("alertmanager", str(not_json)), "body: not valid JSON"),
        (("alertmanager", str(binary)), "body: not valid JSON"),
        (("generic", str(too_large)), f"more than {MAX_BODY:,} bytes"),
    ]:
        result = crisisbot("alerts", "try", *args, config=config)
        assert result.returncode == 1, args
        assert says in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr


def test_alerts_try_refuses_more_alerts_than_the_webhook_takes(tmp_path: Path,
                                                               crisisbot) -> None:
    """The webhook's 413: from a built-in source that counts its alerts, and from a mapping's
    `items`, which does not."""
    config = tmp_path / "crisisbot.toml"
    config.write_text('[[alerts.mappings]]\nname = "many"\nitems = "events"\ntitle = "t"\n',
                      encoding="utf-8")
    items = [{"t": f"alert {i}"} for i in range(MAX_ALERTS + 1)]
    mapped, generic = tmp_path / "mapped.json", tmp_path / "generic.json"
    mapped.write_text(json.dumps({"events": items}), encoding="utf-8")
    generic.write_text(json.dumps([{"title": f"alert {i}"} for i in range(MAX_ALERTS + 1)]),
                       encoding="utf-8")
    for source, path in [("many", mapped), ("generic", generic)]:
        result = crisisbot("alerts", "try", source, str(path), config=config)
        assert result.returncode == 1, source
        assert result.stdout == "", source
        assert result.stderr == (f"crisisbot: {path}: more than {MAX_ALERTS:,} alerts in one "
                                 "request; send them in smaller batches\n")
    mapped.write_text(json.dumps({"events": items[:MAX_ALERTS]}), encoding="utf-8")
    at_limit = crisisbot("alerts", "try", "many", str(mapped), config=config)
    assert at_limit.returncode == 0, at_limit.stderr
    assert len(at_limit.stdout.splitlines()) == MAX_ALERTS


def test_check_config_refuses_bad_expressions_with_their_path(tmp_path: Path, crisisbot) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('''
[[alerts.mappings]]
name = "ok"
title = "alert.name"

[[alerts.mappings]]
name = "broken"
title = "data.["
status = "lower(state)"

[[alerts.mappings]]
name = "grafana"
title = "title"
''', encoding="utf-8")
    result = crisisbot("check-config", config=config)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(
        "crisisbot: alerts.mappings[1].title: Invalid jmespath expression")
    assert lines[1] == "crisisbot: alerts.mappings[1].status: unknown function lower"
    assert lines[2] == "crisisbot: alerts.mappings[2].name: grafana is already a source"
    assert "Traceback" not in result.stderr
    assert crisisbot("check-config", config=shipped(tmp_path)).returncode == 0
