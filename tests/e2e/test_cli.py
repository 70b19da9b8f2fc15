"""The `crisisbot` verbs as a user runs them: the demo story, the report, refusals, config."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from tests.processes import CRISISBOT, crisisbot, process_env


def test_demo_tells_the_whole_story_and_ends_with_the_report(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = crisisbot("demo", "--db", str(db))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    story = [
        "alert 1: opened INC-1",
        "alert 3: attached to INC-1",
        "@bob acknowledged INC-1; commander: @bob.",
        "@carol is now spokesperson.",
        "@frank rejected draft #1: Do not repeat the false claim",
        "Draft #1 (version 2) by @carol",
        "You wrote this draft, so you cannot approve it.",
        "Approvals: 1 of 2 (approver): @dave",
        "Draft #1 is approved and ready to publish. Approved by @dave, @erin.",
        "Update from @bob (monitoring)",
        "@bob resolved INC-1.",
        "# Post-incident report: INC-1",
    ]
    positions = [out.find(line) for line in story]
    assert -1 not in positions, [s for s, p in zip(story, positions, strict=True) if p == -1]
    assert positions == sorted(positions), "the story is told out of order"
    report = out[out.index("# Post-incident report"):]
    assert "| time to acknowledge | 5 min |" in report
    assert "| time to first approved statement | 27 min |" in report
    assert "| time to resolve | 1 hr 32 min |" in report
    assert "| alerts | 3 |" in report
    assert "rejected by @frank (legal)" in report
    assert "approved by @dave (approver)" in report

    # --db keeps the database: the report verb reads the same incident back.
    again = crisisbot("report", "INC-1",
                      env={"CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}"})
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == report.split("\n\n(database kept")[0].strip()


def test_report_of_an_unknown_incident_is_one_readable_line(tmp_path: Path) -> None:
    env = {"CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    result = crisisbot("report", "INC-99", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "crisisbot: There is no incident INC-99."
    bad = crisisbot("report", "99", env=env)
    assert bad.returncode == 1
    assert "not an incident id" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_check_config_masks_secrets(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRISISBOT_SLACK__BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("CRISISBOT_SLACK__SIGNING_SECRET", "signing-very-secret")
    monkeypatch.setenv("CRISISBOT_DATABASE_URL",
                       "postgresql+asyncpg://crisis:hunter2@db.internal/crisis")
    monkeypatch.setenv("CRISISBOT_ALERTS__FEEDS", json.dumps([{
        "name": "private", "url": "https://reader:feed-very-secret@feeds.example/f?lang=en"}]))
    monkeypatch.setenv("CRISISBOT_PUBLISH__WEBHOOK_URL",
                       "https://hooks.example/in?token=hook-very-secret")
    monkeypatch.setenv("CRISISBOT_PUBLISH__WEBHOOK_SECRET", "whsec_dmVyeS1zZWNyZXQ=")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out
    assert "hunter2" not in out
    assert "https://reader:**********@feeds.example/f?**********" in out
    assert "chat platforms: local, slack" in out
    assert "every alert will be refused" in out


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CRISISBOT_PORT", "eighty", "CRISISBOT_PORT: Input should be a valid integer"),
        ("CRISISBOT_LANGUAGE", "de", "CRISISBOT_LANGUAGE: Value error, must be one of en, ru, fa"),
        ("CRISISBOT_DEFAULT_SEVERITY", "SEV9", "CRISISBOT_DEFAULT_SEVERITY"),
        ("CRISISBOT_WEB__LOGIN_TTL", "30d",
         "CRISISBOT_WEB__LOGIN_TTL: Value error, at most 7 days"),
    ],
)
def test_invalid_settings_exit_2_with_a_readable_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    name: str, value: str, expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert expected in err


@pytest.mark.parametrize(("toml", "expected"), [
    ('[[approval.SEV1]]\nroles = ["board"]\ncount = 1\n', "approval.SEV1: unknown role(s) board"),
    # An empty policy would leave that severity's statements pending for ever.
    ("[approval]\nSEV4 = []\n", "approval.SEV4: at least one approval step is needed"),
])
def test_toml_policy_that_cannot_be_met_is_refused(
    toml: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(toml)
    monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
    assert main(["check-config"]) == 2
    assert expected in capsys.readouterr().err


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRISISBOT_CONFIG", "/nonexistent/crisisbot.toml")
    assert main(["check-config"]) == 2
    assert "no such file: /nonexistent/crisisbot.toml" in capsys.readouterr().err


# -- every refusal is one readable line, never a traceback ---------------------------------------


def refused(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one line a refusal prints on stderr (asserting there is exactly one, no traceback)."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crisisbot: "), lines[0]
    return lines[0]


def sqlite(path: Path) -> dict[str, str]:
    return {"CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}


def test_malformed_toml_names_file_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "crisisbot.toml"
    config.write_text('language = "en"\n[slack\nbot_token = "x"\n')
    line = refused(crisisbot("check-config", env={"CRISISBOT_CONFIG": str(config)}), 2)
    assert str(config) in line
    assert "line 2, column 7" in line
    assert "Expected ']'" in line


@pytest.mark.parametrize(("url", "wrong", "verb"), [
    ("mysql://crisis:pw@db.internal/crisis", "mysql", ("check-config",)),
    ("notaurl", "notaurl", ("check-config",)),
    ("postgresql+asyncpg://crisis:pw@db:port/crisis", "…@db:port", ("check-config",)),
    ("sqlite+aiosqlite:///{tmp}/missing/crisisbot.db", "/missing", ("check-config",)),
    ("notaurl", "notaurl", ("report", "INC-1")),
    ("mysql://crisis:pw@db.internal/crisis", "mysql", ("stats",)),
])
def test_unusable_database_url_says_what_is_wrong(tmp_path: Path, url: str, wrong: str,
                                                   verb: tuple[str, ...]) -> None:
    url = url.format(tmp=tmp_path)
    line = refused(crisisbot(*verb, env={"CRISISBOT_DATABASE_URL": url}), 2)
    assert "CRISISBOT_DATABASE_URL" in line
    assert wrong in line
    assert "pw" not in line.replace(wrong, "")
    assert "e.g. postgresql+asyncpg://" in line or "missing" in line


def test_unreachable_database_names_host_and_port(tmp_path: Path) -> None:
    env = {"CRISISBOT_DATABASE_URL": "postgresql+asyncpg://crisis:hunter2@127.0.0.1:1/crisis"}
    line = refused(crisisbot("stats", env=env))
    assert "127.0.0.1:1" in line
    assert "hunter2" not in line


def test_report_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    assert crisisbot("demo", "--db", str(db)).returncode == 0
    out = tmp_path / "nowhere" / "report.md"
    line = refused(crisisbot("report", "INC-1", "--out", str(out), env=sqlite(db)))
    assert str(out.parent) in line


def test_an_absurd_incident_number_is_refused(tmp_path: Path) -> None:
    number = "INC-" + "9" * 40
    line = refused(crisisbot("report", number, env=sqlite(tmp_path / "x.db")))
    assert "No incident, draft or task has a number as large as INC-99999" in line


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`crisisbot demo | head -1`: the reader leaves after one line."""
    process = subprocess.Popen([*CRISISBOT, "demo"], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **sqlite(tmp_path / "x.db")})
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline().startswith("== Alerts arrive")
    process.stdout.close()
    assert process.stderr.read() == ""
    assert process.wait(120) == 1


def test_check_config_warns_about_half_configured_platforms() -> None:
    result = crisisbot("check-config", env={"CRISISBOT_SLACK__BOT_TOKEN": "xoxb-1",
                                            "CRISISBOT_TELEGRAM__BOT_TOKEN": "123:abc"})
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2, warnings
    assert "CRISISBOT_SLACK__SIGNING_SECRET" in warnings[0]
    assert "CRISISBOT_TELEGRAM__CHAT_ID" in warnings[1]
    assert "xoxb-1" not in result.stderr + result.stdout
    only_secret = crisisbot("check-config", env={"CRISISBOT_SLACK__SIGNING_SECRET": "s"})
    assert "CRISISBOT_SLACK__BOT_TOKEN" in only_secret.stderr


# -- --db never deletes a database ---------------------------------------------------------------


def test_demo_refuses_an_existing_database_unless_forced(tmp_path: Path) -> None:
    db = tmp_path / "kept.db"
    assert crisisbot("demo", "--db", str(db)).returncode == 0
    before = db.read_bytes()
    line = refused(crisisbot("demo", "--db", str(db)))
    assert str(db) in line
    assert "--force" in line
    assert db.read_bytes() == before
    assert crisisbot("demo", "--db", str(db), "--force").returncode == 0


def test_demo_forced_onto_a_folder_refuses_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    (folder / "kept.txt").write_text("mine")
    line = refused(crisisbot("demo", "--db", str(folder), "--force"))
    assert str(folder) in line
    assert (folder / "kept.txt").read_text() == "mine"


def test_drill_adds_to_an_existing_database(tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    assert crisisbot("demo", "--db", str(db)).returncode == 0
    drill = crisisbot("drill", "data_breach", "--db", str(db))
    assert drill.returncode == 0, drill.stderr
    assert "# Post-incident report: INC-2" in drill.stdout
    # The demo's incident is still there, read with --db by report and stats.
    kept = crisisbot("report", "INC-1", "--db", str(db))
    assert kept.returncode == 0, kept.stderr
    assert "# Post-incident report: INC-1" in kept.stdout
    stats = crisisbot("stats", "--db", str(db), "--since", "3650d", "--include-drills")
    assert stats.returncode == 0, stats.stderr
    # Reading verbs never create an empty database where none was.
    missing = tmp_path / "typo.db"
    assert str(missing) in refused(crisisbot("report", "INC-1", "--db", str(missing)))
    assert not missing.exists()


# -- the CLI's own words in the team's language --------------------------------------------------


def test_help_and_refusals_in_the_configured_language(tmp_path: Path) -> None:
    ru = {"CRISISBOT_LANGUAGE": "ru"}
    helped = crisisbot("--help", env=ru)
    assert helped.returncode == 0
    assert "сценарий кризиса" in helped.stdout
    line = refused(crisisbot("report", "INC-99", env={**ru, **sqlite(tmp_path / "x.db")}))
    assert "INC-99" in line
    assert "There is no incident" not in line
    fa = crisisbot("demo", "--help", "--lang", "fa")
    assert "--force" in fa.stdout
    assert "keep the demo database" not in fa.stdout


def test_demo_and_drill_stay_on_the_local_chat_where_slack_and_telegram_are_configured(
        tmp_path: Path) -> None:
    """Run where the team's platforms are configured, a scripted crisis still talks only to
    the local chat: no channel, topic or message reaches the team."""
    configured = {"CRISISBOT_SLACK__BOT_TOKEN": "xoxb-1", "CRISISBOT_SLACK__SIGNING_SECRET": "s",
                  "CRISISBOT_SLACK__API_URL": "http://127.0.0.1:1/api/",
                  "CRISISBOT_TELEGRAM__BOT_TOKEN": "1:a", "CRISISBOT_TELEGRAM__CHAT_ID": "-100",
                  "CRISISBOT_TELEGRAM__API_URL": "http://127.0.0.1:1/bot"}
    for verb in (("demo",), ("drill", "data_breach")):
        result = crisisbot(*verb, env=configured)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert "# Post-incident report: INC-1" in result.stdout


def test_a_verb_on_the_local_chat_loads_no_chat_platform(tmp_path: Path) -> None:
    """Slack's and Telegram's libraries (half a second of every process) are imported only
    when the settings enable their platform."""
    env = process_env(**sqlite(tmp_path / "s.db"))  # no config file
    for name in [n for n in env if n.startswith(("CRISISBOT_SLACK__", "CRISISBOT_TELEGRAM__"))]:
        del env[name]
    result = subprocess.run([CRISISBOT[0], "-X", "importtime", *CRISISBOT[1:], "stats"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "bot.app.wiring" in imported  # the verb built the bot
    platforms = {"slack_sdk", "slack_bolt", "telegram", "aiohttp"}
    assert not imported & platforms


def test_serve_on_a_busy_port_ends_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = crisisbot("serve", env={**sqlite(tmp_path / "s.db"), "CRISISBOT_PORT": str(port)})
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert "address already in use" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"crisisbot: the server did not start on 127.0.0.1:{port}; the log above "
                    "says why.")


def test_usage_mistakes_are_one_line() -> None:
    line = refused(crisisbot("report"), 2)
    assert "required: incident" in line
    assert "crisisbot report --help" in line
    assert "invalid choice" in refused(crisisbot("drill", "nosuchkind"), 2)
    assert "--since" in refused(crisisbot("stats", "--since", "soon"), 2)
