"""Numbers, percentages, moments, durations, lists and role names written the reader's way.

Core hands these over typed (`int`, `Percent`, `datetime`, `timedelta`, `Joined`, `Either`,
`RoleName`); the renderer of each language writes them with Babel's CLDR data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.team import role_aliases_from, rules_from, team_renderer
from bot.app.wiring import build
from bot.core.commands import parse
from bot.core.errors import Invalid
from bot.core.models import any_role, role_name
from bot.core.text import FSI, PDI, Day, Either, Joined, Percent, Text, Who, render
from bot.i18n import renderer
from bot.settings import ConfigError, Settings, load

AT = datetime(2026, 3, 14, 8, 30, tzinfo=UTC)


def shown(language: str, value: object, **options: object) -> str:
    return renderer(language, **options)(Text("{v}", {"v": value}))  # type: ignore[arg-type]


@pytest.mark.parametrize(("language", "number", "percent"), [
    ("en", "58,700", "67%"),
    ("ru", "58\u00a0700", "67\u00a0%"),
    ("fa", "۵۸٬۷۰۰", "۶۷٪"),
])
def test_numbers_and_percentages(language: str, number: str, percent: str) -> None:
    assert shown(language, 58_700) == number
    assert shown(language, Percent(67)) == percent
    assert shown("en", True) == "True"  # a flag is not a number


def test_a_signed_percentage_and_decimals() -> None:
    assert shown("en", Percent(50, signed=True)) == "+50%"
    assert shown("fa", Percent(50, signed=True)) == "+۵۰٪"
    assert shown("ru", 2.5) == "2,5"
    assert shown("fa", 2.5) == "۲٫۵"


@pytest.mark.parametrize(("language", "five", "long"), [
    ("en", "5 min", "1 hr 32 min"),
    ("ru", "5 мин", "1 ч 32 мин"),
    ("fa", "۵ دقیقه", "۱ ساعت ۳۲ دقیقه"),
])
def test_durations(language: str, five: str, long: str) -> None:
    assert shown(language, timedelta(minutes=5)) == five
    assert shown(language, timedelta(hours=1, minutes=32, seconds=10)) == long


def test_durations_without_locale_data_read_the_same_in_english() -> None:
    assert render(Text("{v}", {"v": timedelta(minutes=5)})) == "5 min"
    assert render(Text("{v}", {"v": timedelta(days=2, minutes=3)})) == "2 d"
    assert render(Text("{v}", {"v": timedelta(0)})) == "0 sec"


def test_lists_use_the_locale_separator_and_or() -> None:
    people = Joined((Who("local:dave"), Who("local:erin")))
    assert shown("ru", people) == "@dave, @erin"
    assert shown("fa", people) == f"{FSI}@dave{PDI}،\u200f {FSI}@erin{PDI}"
    assert shown("en", Either(("a", "b", "c"))) == "a, b, or c"
    assert shown("ru", Either(("a", "b"))) == "a или b"


def test_a_day_is_month_and_day_in_the_team_timezone_and_calendar() -> None:
    """A chart's week label: 14 March 2026, 08:30 UTC is the 13th in Honolulu."""
    assert shown("en", Day(AT)) == "3/14"
    assert shown("ru", Day(AT)) == "14.03"
    assert shown("fa", Day(AT)) == "۳/۱۴"
    assert shown("fa", Day(AT), calendar="persian") == "۱۲/۲۳"
    assert shown("en", Day(AT), timezone=ZoneInfo("Pacific/Honolulu")) == "3/13"
    assert render(Text("{v}", {"v": Day(AT)})) == "03-14"


def test_moments_in_the_team_timezone_and_calendar() -> None:
    assert shown("en", AT) == "3/14/2026, 08:30 UTC"
    assert shown("ru", AT) == "14.03.2026, 08:30 UTC"
    assert shown("ru", AT, timezone=ZoneInfo("Europe/Moscow")) == "14.03.2026, 11:30 MSK"
    assert shown("fa", AT) == f"{FSI}۲۰۲۶/۳/۱۴،\u200f ۸:۳۰ UTC{PDI}"
    # Solar Hijri: 14 March 2026 is 23 Esfand 1404
    assert shown("fa", AT, calendar="persian") == f"{FSI}۱۴۰۴/۱۲/۲۳،\u200f ۸:۳۰ UTC{PDI}"
    assert shown("en", AT, calendar="persian") == "1404/12/23, 08:30 UTC"
    assert shown("fa", AT.time()) == f"{FSI}۸:۳۰{PDI}"


def test_built_in_roles_are_named_by_the_catalogue() -> None:
    assert shown("ru", role_name("spokesperson")) == "официальный представитель"
    assert shown("ru", role_name("spokesperson", capital=True)) == "Официальный представитель"
    assert shown("fa", role_name("legal")) == "مشاور حقوقی"
    assert shown("en", any_role(["legal", "approver"])) == "approver or legal"
    assert shown("ru", role_name("duty_officer")) == "duty_officer"  # unnamed: its id


TEAM = {"roles": ["commander", "spokesperson", "approver", "duty_officer"],
        "veto_roles": [], "approval": {"SEV4": [{"roles": ["approver"], "count": 1}]},
        "role_names": {"Duty_Officer": {"en": "duty officer", "ru": "дежурный",
                                        "fa": "افسر کشیک"},
                       "spokesperson": {"ru": "пресс-секретарь"}}}


def test_a_team_names_its_own_roles_per_language() -> None:
    settings = Settings(**TEAM)
    assert settings.calendar == "gregorian"
    ru = team_renderer(settings, "ru")
    assert ru(Text("{r}", {"r": role_name("duty_officer", capital=True)})) == "Дежурный"
    assert ru(Text("{r}", {"r": role_name("spokesperson")})) == "пресс-секретарь"
    assert ru(Text("{r}", {"r": role_name("approver")})) == "согласующий"
    de = team_renderer(settings, "fa")
    assert de(Text("{r}", {"r": role_name("duty_officer")})) == "افسر کشیک"


def test_people_may_type_a_role_by_its_name_in_any_language() -> None:
    rules = rules_from(Settings(**TEAM))
    assert rules.check_role("дежурный") == "duty_officer"
    assert rules.check_role("Duty  Officer") == "duty_officer"
    assert rules.check_role("افسر کشیک") == "duty_officer"
    assert rules.check_role("согласующий") == "approver"
    assert rules.check_role("سخنگو") == "spokesperson"  # the catalogue's Persian name
    assert rules.check_role("spokesperson") == "spokesperson"
    command = parse("/crisis role @alice официальный представитель").action
    assert rules.check_role(command.role) == "spokesperson"  # type: ignore[union-attr]
    with pytest.raises(Invalid):
        rules.check_role("представитель")


def test_a_name_two_roles_share_is_no_alias() -> None:
    settings = Settings(roles=["approver", "reviewer"], veto_roles=[],
                        role_names={"reviewer": {"ru": "согласующий"}})
    assert "согласующий" not in role_aliases_from(settings)


def test_role_names_and_calendar_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISBOT_CONFIG", "CRISISBOT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRISISBOT_CALENDAR", "persian")
    assert load().calendar == "persian"
    monkeypatch.setenv("CRISISBOT_CALENDAR", "lunar")
    with pytest.raises(ConfigError, match="CRISISBOT_CALENDAR"):
        load()
    monkeypatch.delenv("CRISISBOT_CALENDAR")
    with pytest.raises(ConfigError, match="role_names: unknown role"):
        load(role_names={"janitor": {"ru": "дворник"}})
    with pytest.raises(ConfigError, match="languages must be among"):
        load(role_names={"legal": {"de": "Justiziar"}})


async def test_a_russian_team_assigns_a_role_by_its_name(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the composition root and the built-in chat: the Russian name is accepted, the
    id is what is stored, and the announcement names the role in Russian."""
    for name in ("CRISISBOT_CONFIG", "CRISISBOT_LANGUAGE", "CRISISBOT_CALENDAR"):
        monkeypatch.delenv(name, raising=False)
    lines: list[str] = []
    bot = await build(load(database_url=f"sqlite+aiosqlite:///{tmp_path}/ru.db", language="ru",
                           **TEAM), echo=lines.append)
    try:
        session = bot.session()
        await session.say("alice", "/crisis declare SEV2 Утечка данных")
        channel = await bot.local.space_of(1)
        await session.say("alice", "/crisis role @bob Официальный представитель", channel)
        await session.say("alice", "/crisis role @erin дежурный", channel)
        incident, *_rest = await bot.service.load(1)
        assert incident.roles["spokesperson"] == ["local:bob"]
        assert incident.roles["duty_officer"] == ["local:erin"]
        transcript = "\n".join(lines)
        assert "@bob получает роль «пресс-секретарь»." in transcript  # the team's own name
        assert "@erin получает роль «дежурный»." in transcript
        assert "(видит только @alice) Готово." in transcript
    finally:
        await bot.close()
