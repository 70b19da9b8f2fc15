"""The `[schedule]` settings: durations in words, global overrides, plain values for the core."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.team import schedule_from
from bot.core.models import Severity
from bot.settings import ConfigError, load
from bot.settings.durations import parse_duration


@pytest.mark.parametrize(("given", "seconds"), [
    (90, 90), ("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800),
    ("1h30m", 5400), ("0.5s", 0.5),
])
def test_durations(given: object, seconds: float) -> None:
    assert parse_duration(given) == timedelta(seconds=seconds)


def test_off_and_nonsense() -> None:
    assert parse_duration("off") is None
    with pytest.raises(ValueError, match="a duration"):
        parse_duration("soon")


def test_env_override_applies_to_every_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ACK_TIMEOUT", "2s")
    monkeypatch.setenv("CRISISBOT_SCHEDULE__UPDATE_EVERY", "20m")
    schedule = schedule_from(load())
    assert {t.ack_timeout for t in schedule.timers.values()} == {timedelta(seconds=2)}
    assert {t.update_every for t in schedule.timers.values()} == {timedelta(minutes=20)}
    assert schedule.timers[Severity.SEV1].approval_reminder == timedelta(minutes=10)


def test_toml_per_severity_chain_and_follow_up(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "crisisbot.toml"
    config.write_text('''timezone = "Europe/Berlin"
[schedule]
review_time = "09:30:00"
working_days = ["mon", "wed"]
[schedule.severity.SEV2]
ack_timeout = "3m"
[[schedule.escalation]]
people = ["slack:U1"]
[[schedule.escalation]]
after = "10m"
groups = ["slack:S1"]
''')
    monkeypatch.setenv("CRISISBOT_CONFIG", str(config))
    schedule = schedule_from(load())
    sev2 = schedule.timers[Severity.SEV2]
    assert (sev2.ack_timeout, sev2.update_every) == (timedelta(minutes=3), timedelta(hours=1))
    assert schedule.timers[Severity.SEV4].ack_timeout is None
    assert [(s.after, s.people, s.groups) for s in schedule.escalation] == [
        (timedelta(0), ("slack:U1",), ()), (timedelta(minutes=10), (), ("slack:S1",))]
    assert (schedule.timezone, schedule.review_time) == (ZoneInfo("Europe/Berlin"), time(9, 30))
    assert schedule.working_days == frozenset({0, 2})


def test_refusals_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISBOT_SCHEDULE__APPROVAL_REMINDER", "-5m")
    with pytest.raises(ConfigError, match="CRISISBOT_SCHEDULE__APPROVAL_REMINDER"):
        load()
    monkeypatch.delenv("CRISISBOT_SCHEDULE__APPROVAL_REMINDER")
    monkeypatch.setenv("CRISISBOT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="CRISISBOT_TIMEZONE"):
        load()


def test_archive_after_is_off_by_default_and_set_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert schedule_from(load()).archive_after is None
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ARCHIVE_AFTER", "7d")
    assert schedule_from(load()).archive_after == timedelta(days=7)
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ARCHIVE_AFTER", "off")
    assert schedule_from(load()).archive_after is None
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ARCHIVE_AFTER", "0s")
    with pytest.raises(ConfigError, match="CRISISBOT_SCHEDULE__ARCHIVE_AFTER"):
        load()
