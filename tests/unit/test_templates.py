"""Statement templates: every name, kind and language fills from incident fields; a kind's own
template beats the generic one; the sandbox refuses unsafe attributes; drafts made from a
template go through the normal approval flow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.team import templates_from
from bot.content.statements import JinjaTemplates
from bot.core.models import CrisisKind
from bot.core.playbooks import TEMPLATE_NAMES, TemplateError
from bot.core.text import LANGUAGES
from bot.settings import Settings
from bot.storage.memory import MemoryStore
from tests.unit.playworld import START, make_world, mention

TEMPLATES = templates_from(Settings())
FIELDS = {"incident": "INC-7", "title": "Checkout is down", "kind": "service_outage",
          "severity": "SEV1", "status": "responding", "opened": "2026-03-14 08:30 UTC",
          "now": "2026-03-14 09:00 UTC", "brand": "BrightMilk", "target": None, "drill": False,
          "language": "en"}
KINDS = [k for k in CrisisKind if k is not CrisisKind.OTHER]


@pytest.mark.parametrize(("language", "calendar", "now"), [
    ("en", "gregorian", "3/14/2026, 09:00 UTC"),
    ("ru", "gregorian", "14.03.2026, 09:00 UTC"),
    ("fa", "gregorian", "۲۰۲۶/۳/۱۴،\u200f ۹:۰۰ UTC"),
    ("fa", "persian", "۱۴۰۴/۱۲/۲۳،\u200f ۹:۰۰ UTC"),
])
def test_times_in_a_statement_are_written_the_language_s_way(language: str, calendar: str,
                                                              now: str) -> None:
    templates = templates_from(Settings(calendar=calendar))
    at = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    text = templates.render("update", CrisisKind.SERVICE_OUTAGE, language,
                            {**FIELDS, "now": at, "opened": at})
    assert now in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value)
def test_every_template_fills_for_every_kind_and_language(kind: CrisisKind,
                                                          language: str) -> None:
    assert set(TEMPLATE_NAMES) <= set(TEMPLATES.names(kind, language))
    for name in TEMPLATE_NAMES:
        text = TEMPLATES.render(name, kind, language, {**FIELDS, "kind": kind.value})
        assert len(text) > 80
        assert "{{" not in text
        assert "{%" not in text
        assert "BrightMilk" in text or "Checkout is down" in text


def test_kind_specific_templates_win_and_languages_differ() -> None:
    generic = TEMPLATES.render("holding", CrisisKind.TROLLING, "en", FIELDS)
    breach = TEMPLATES.render("holding", CrisisKind.DATA_BREACH, "en", FIELDS)
    assert generic.startswith("We are aware of the situation concerning BrightMilk")
    assert "security incident" in breach
    assert "change your password" in breach
    assert "Мы выявили" in TEMPLATES.render("holding", CrisisKind.DATA_BREACH, "ru", FIELDS)
    assert "رخداد امنیتی" in TEMPLATES.render("holding", CrisisKind.DATA_BREACH, "fa", FIELDS)
    no_brand = TEMPLATES.render("apology", CrisisKind.TROLLING, "en", {**FIELDS, "brand": None})
    assert "[company]" in no_brand
    drill = TEMPLATES.render("update", CrisisKind.TROLLING, "ru", {**FIELDS, "drill": True})
    assert drill.startswith("[УЧЕНИЯ] Обновление по ситуации «Checkout is down»")


def test_team_templates_add_names_override_and_fall_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "en" / "trolling").mkdir(parents=True)
    (tmp_path / "en" / "trolling" / "holding.j2").write_text("Ours: {{ title }}")
    (tmp_path / "en" / "investor_note.j2").write_text("For investors: {{ kind_label }}.")
    templates = templates_from(Settings(templates_dir=tmp_path))
    assert templates.render("holding", CrisisKind.TROLLING, "en", FIELDS) == \
        "Ours: Checkout is down"
    assert "investor_note" in templates.names(CrisisKind.DATA_BREACH, "fa")
    assert templates.render("investor_note", CrisisKind.DATA_BREACH, "fa", FIELDS) == \
        "For investors: نشت داده."


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ title.__class__ }}",
    "{{ missing_field }}",
    "{% if %}",
])
def test_the_sandbox_refuses(tmp_path: Path, source: str) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "evil.j2").write_text(source)
    templates = JinjaTemplates([tmp_path], lambda kind, language: kind.value)
    with pytest.raises(TemplateError):
        templates.render("evil", CrisisKind.TROLLING, "en", FIELDS)


def test_unknown_or_path_like_names_are_not_found() -> None:
    for name in ("nope", "../en/holding", "EN/holding"):
        with pytest.raises(KeyError):
            TEMPLATES.render(name, CrisisKind.TROLLING, "en", FIELDS)


async def test_a_draft_from_a_template_goes_through_approval() -> None:
    world = make_world(MemoryStore())
    outcome = await world.service.handle_alert(mention(1, START))
    await world.delivery.flush()
    assert outcome.opened
    await world.say("bob", "/crisis ack")
    for person, role in (("carol", "spokesperson"), ("dave", "approver"), ("erin", "approver")):
        await world.say("bob", f"/crisis role @{person} {role}")
    listing = await world.say("carol", "/crisis templates")
    assert "- rebuttal (suggested by the playbook)" in listing
    reply = await world.say("carol", "/crisis draft template rebuttal to:@truthseeker")
    assert "Draft #1 posted for approval from the template “rebuttal”" in reply[0]
    draft = (await world.service.load(1))[1][0]
    assert draft.target == "@truthseeker"
    assert draft.current.text.startswith("Claims circulating online about BrightMilk are not true")
    await world.say("dave", "/crisis approve")
    await world.say("erin", "/crisis approve")
    assert "Draft #1 is approved and ready to publish" in await world.channel_text()
    assert "There is no template “nope”. Templates: apology, closing" in (
        await world.say("carol", "/crisis draft template nope"))[0]
    assert "/crisis templates" in (await world.say("carol", "/crisis draft template"))[0]
    pasted = (await world.say("carol", "/crisis draft template " + "x" * 3000))[0]
    assert "x" * 30 not in pasted  # quoted short, as every refusal
    assert "…”" in pasted
