"""The `crisisbot` verbs as a user runs them: the demo story, the report, refusals, config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


def crisisbot(*args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd,
        env={**os.environ, **(env or {})}, check=False,
    )


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
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out
    assert "hunter2" not in out
    assert "chat platforms: local, slack" in out
    assert "every alert will be refused" in out


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CRISISBOT_PORT", "eighty", "CRISISBOT_PORT: Input should be a valid integer"),
        ("CRISISBOT_LANGUAGE", "de", "CRISISBOT_LANGUAGE: Value error, must be one of en, ru, fa"),
        ("CRISISBOT_DEFAULT_SEVERITY", "SEV9", "CRISISBOT_DEFAULT_SEVERITY"),
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


def test_toml_policy_naming_an_unknown_role_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[approval.SEV1]]\nroles = ["board"]\ncount = 1\n')
    monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
    assert main(["check-config"]) == 2
    assert "approval.SEV1: unknown role(s) board" in capsys.readouterr().err


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRISISBOT_CONFIG", "/nonexistent/crisisbot.toml")
    assert main(["check-config"]) == 2
    assert "no such file: /nonexistent/crisisbot.toml" in capsys.readouterr().err
