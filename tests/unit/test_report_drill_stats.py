"""The report's new parts (checklist, mentions chart and peak, lessons, HTML with SVG), drills
(marked, fed on the tick, never after resolve) and stats (drills left out unless asked)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.models import CrisisKind, Severity
from bot.core.series import mention_series
from bot.core.stats import stats_lines
from bot.core.store import Store
from bot.core.text import render
from bot.i18n import renderer
from bot.report_html import html_report
from tests.unit.playworld import START, make_world, mention


async def _mention_incident(store: Store):  # type: ignore[no-untyped-def]
    world = make_world(store)
    for n, (minute, sentiment) in enumerate([(0, -0.9), (0, -0.5), (1, 0.2), (1, -0.7),
                                             (1, -0.8), (3, 0.4)], start=1):
        await world.service.handle_alert(mention(n, START + timedelta(minutes=minute, seconds=n),
                                                 sentiment=sentiment, reach=100 * n))
    await world.delivery.flush()
    world.clock.advance(minutes=5)
    await world.say("bob", "/crisis ack")
    await world.say("bob", "/crisis task done 2")
    await world.say("bob", "/crisis lesson Pre-approve a rebuttal for recall rumours.")
    world.clock.advance(minutes=10)
    await world.say("bob", "/crisis resolve")
    return world


def test_series_buckets_peak_and_interval() -> None:
    alerts = [mention(n, START + timedelta(minutes=m), sentiment=s)
              for n, (m, s) in enumerate([(0, -1), (0, 1), (2, -1)])]
    series = mention_series(alerts)
    assert series is not None
    assert [(p.count, p.negative_share) for p in series.points] == [(2, 50), (0, 0), (1, 100)]
    assert series.peak.at == START
    assert series.total == 3
    long = mention_series([mention(1, START), mention(2, START + timedelta(hours=5))])
    assert long is not None
    assert long.step == timedelta(minutes=15)
    assert len(long.points) <= 60
    assert mention_series([]) is None


async def test_report_has_checklist_chart_peak_and_lessons(store: Store) -> None:
    world = await _mention_incident(store)
    report = await world.service.report(1)
    text = "\n".join(render(line) for line in report.lines())
    for expected in ("| time to acknowledge | 5 min |", "| time to first status update |",
                     "| time to first approved statement |", "| checklist | 1 of 9 done |",
                     "## Checklist", "— done by @bob at", "## Mentions",
                     "- Peak: 3 mentions in 1 min at 08:31, 67% negative",
                     "- In all: 6 mentions, 67% negative, reach 2,100", "```chart",
                     "## Lessons learned", "- Pre-approve a rebuttal for recall rumours. (@bob)"):
        assert expected in text, expected
    chart = text.split("```chart\n")[1].split("```")[0].splitlines()
    assert len(chart) == 4
    assert chart[1].startswith("08:31 " + "█" * 30)
    assert chart[2].startswith("08:32 ·")
    persian = renderer("fa")
    lines = [persian(line) for line in report.lines()]
    page = html_report(lines, language="fa", series=report.series,
                       chart_labels=("اشاره‌ها", "سهم منفی"), words=persian)
    assert "اشاره‌ها\u2069 (بیشینه " in page  # the chart's own words and digits are Persian
    assert "۸:۳۰" in page
    assert "08:30" not in page
    assert '<html lang="fa" dir="rtl">' in page
    assert page.count("<svg") == 1
    assert "```" not in page
    assert "<table>" in page
    assert "<h2>اشاره‌ها</h2>" in page


async def test_a_drill_is_marked_fed_on_the_tick_and_stops_at_resolve(store: Store) -> None:
    world = make_world(store)
    reply = await world.session.say("trainer", "/crisis drill data_breach")
    assert reply[0].startswith("Drill INC-1 started")
    incident, _drafts, _events, alerts = await world.service.load(1)
    assert incident.drill
    assert incident.kind is CrisisKind.DATA_BREACH
    assert incident.severity is Severity.SEV2
    assert len(alerts) == 1
    text = await world.channel_text()
    assert "[DRILL] INC-1: Drill: a hacker forum offers our customer database" in text
    assert "This is a DRILL, not a real crisis" in text
    assert "[DRILL] Simulated mention on forum.example (reach 5,000)" in text
    assert await world.tick(2) == 0
    assert await world.tick(1) == 1
    assert len((await world.service.load(1))[3]) == 2
    await world.say("trainer", "/crisis resolve")
    await world.tick(10)
    assert len((await world.service.load(1))[3]) == 2
    report = await world.say("trainer", "/crisis report")
    assert "This was a DRILL: a training exercise, not a real crisis." in report


async def test_stats_count_and_medians_without_drills(store: Store) -> None:
    world = await _mention_incident(store)
    await world.session.say("ann", "/crisis declare SEV1 kind:service_outage Checkout down")
    await world.session.say("ann", "/crisis drill trolling")
    since = START - timedelta(days=30)
    stats = await world.service.stats(since)
    assert stats.incidents == 2
    assert stats.by_kind == {CrisisKind.DISINFORMATION: 1, CrisisKind.SERVICE_OUTAGE: 1}
    assert stats.by_severity == {Severity.SEV1: 1, Severity.SEV2: 1}
    assert stats.medians["to_acknowledge"].value == timedelta(minutes=5)
    assert stats.medians["to_acknowledge"].count == 1
    assert stats.medians["to_resolve"].value == timedelta(minutes=15)
    text = "\n".join(render(line) for line in stats_lines(stats))
    assert "2 incidents" in text
    assert "Drills are left out" in text
    assert "| time to acknowledge | 5 min | 1 |" in text
    with_drills = await world.service.stats(since, include_drills=True)
    assert with_drills.incidents == 3
    assert with_drills.drills == 1
    assert (await world.service.stats(world.clock.now() + timedelta(1))).incidents == 0


@pytest.mark.slow
def test_cli_drill_report_html_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRISISBOT_LANGUAGE", "CRISISBOT_CONFIG", "CRISISBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db)]) == 0
    demo = capsys.readouterr().out
    report = demo[demo.index("# Post-incident report"):]
    assert "## Mentions" in report
    assert "```chart" in report
    assert "- Peak: 1 mention in 1 min at 08:30, 100% negative" in report
    assert "| checklist | 2 of 9 done |" in report
    assert "- Brief the spokesperson on rebuttal wording" in report
    monkeypatch.setenv("CRISISBOT_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    out = tmp_path / "inc-1.html"
    assert main(["report", "INC-1", "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<svg" in page
    assert "<h1>Post-incident report: INC-1" in page
    assert main(["stats", "--since", "3650d"]) == 0
    assert "1 incident" in capsys.readouterr().out
    monkeypatch.delenv("CRISISBOT_DATABASE_URL")
    assert main(["drill", "service_outage", "--lang", "ru"]) == 0
    drill = capsys.readouterr().out
    assert "[УЧЕНИЯ] INC-1" in drill
    assert "[УЧЕНИЯ] Имитация упоминания" in drill
    assert "Черновик №1 согласован и готов к публикации" in drill
    assert "Это были УЧЕНИЯ" in drill
