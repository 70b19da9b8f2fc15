"""Every crisis kind has a playbook that loads, with a checklist in three languages, a drill and
templates that exist; the checklist is posted and tracked; the per-incident language wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content import PLAYBOOKS
from bot.content.loader import load_playbooks
from bot.core.commands import TaskAssign, TaskDone, parse
from bot.core.errors import Invalid
from bot.core.models import CrisisKind, EventKind, Severity
from bot.core.playbooks import TEMPLATE_NAMES, PlaybookError, parse_playbook
from bot.core.rules import DEFAULT_ROLES
from bot.core.store import Store
from bot.core.text import LANGUAGES
from bot.storage.memory import MemoryStore
from tests.unit.playworld import make_world

KINDS = [k for k in CrisisKind if k is not CrisisKind.OTHER]
SHIPPED = load_playbooks([PLAYBOOKS])


def test_config_playbooks_is_the_shipped_directory() -> None:
    root = Path(__file__).resolve().parents[2]
    assert (root / "config" / "playbooks").resolve() == PLAYBOOKS


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value)
def test_each_kind_has_a_complete_playbook(kind: CrisisKind) -> None:
    playbook = SHIPPED[kind]
    assert set(playbook.severity) == set(Severity)
    assert len(playbook.tasks) >= 6
    assert set(playbook.roles) <= set(DEFAULT_ROLES)
    assert {t.role for t in playbook.tasks} <= set(playbook.roles)
    assert set(playbook.templates) <= set(TEMPLATE_NAMES)
    texts = [playbook.name, *(t.title for t in playbook.tasks), *playbook.severity.values()]
    assert playbook.drill is not None
    assert len(playbook.drill.mentions) >= 3
    texts += [playbook.drill.title, *(m.text for m in playbook.drill.mentions)]
    for text in texts:
        assert {lang for lang, _ in text.texts} == set(LANGUAGES), text


def test_domain_tasks() -> None:
    def titles(kind: CrisisKind) -> str:
        return " ".join(t.title.pick("en") for t in SHIPPED[kind].tasks).lower()

    account = titles(CrisisKind.ACCOUNT_COMPROMISE)
    for words in ("lock the account", "2fa", "revoke all sessions", "warn followers"):
        assert words in account
    fake = titles(CrisisKind.DISINFORMATION)
    for words in ("collect evidence", "factual rebuttal", "report the post to the platforms"):
        assert words in fake
    breach = titles(CrisisKind.DATA_BREACH)
    assert "72 hours" in breach
    assert "gdpr" in breach
    assert "Роскомнадзор" in " ".join(t.title.pick("ru") for t in
                                      SHIPPED[CrisisKind.DATA_BREACH].tasks)


def test_bad_playbooks_are_refused_with_the_file_named(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match=r"x\.toml"):
        parse_playbook({"kind": "trolling", "name": {"ru": "Троллинг"}}, "x.toml")
    with pytest.raises(PlaybookError, match="unknown language"):
        parse_playbook({"kind": "trolling", "name": {"en": "T", "de": "T"}})
    with pytest.raises(PlaybookError, match="CrisisKind"):
        parse_playbook({"kind": "weather", "name": "W"})
    (tmp_path / "trolling.toml").write_text('kind = "data_breach"\nname = "Breach"\n')
    with pytest.raises(PlaybookError, match="does not match the file name"):
        load_playbooks([tmp_path])


def test_a_teams_playbook_replaces_the_shipped_one_of_its_kind(tmp_path: Path) -> None:
    (tmp_path / "trolling.toml").write_text(
        'kind = "trolling"\nname = "Our trolling plan"\nroles = ["commander"]\n'
        '[[tasks]]\nrole = "commander"\ntitle = { en = "Call Dana", ru = "Позвонить Дане" }\n')
    found = load_playbooks([PLAYBOOKS, tmp_path])
    assert [t.title.pick("ru") for t in found[CrisisKind.TROLLING].tasks] == ["Позвонить Дане"]
    assert [t.title.pick("fa") for t in found[CrisisKind.TROLLING].tasks] == ["Call Dana"]
    assert found[CrisisKind.DATA_BREACH] == SHIPPED[CrisisKind.DATA_BREACH]


def test_task_commands_parse() -> None:
    assert parse("/crisis task done 3").action == TaskDone(3)
    assert parse("/crisis task undo #3").action == TaskDone(3, done=False)
    assert isinstance(parse("/crisis task assign 2 @dana").action, TaskAssign)
    with pytest.raises(Invalid, match="/crisis task done"):
        parse("/crisis task done")
    with pytest.raises(Invalid):
        parse("/crisis lang de")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value)
async def test_declaring_posts_and_stores_the_checklist(kind: CrisisKind) -> None:
    world = make_world(MemoryStore())
    await world.session.say("bob", f"/crisis declare SEV2 kind:{kind.value} Trouble")
    tasks = await world.service.tasks(1)
    assert [t.title for t in tasks] == [t.title for t in SHIPPED[kind].tasks]
    text = await world.channel_text()
    assert "Checklist:" in text
    assert SHIPPED[kind].tasks[0].title.pick("en") in text
    assert SHIPPED[kind].severity[Severity.SEV2].pick("en") in text
    assert f"Checklist: {len(tasks)} open items of {len(tasks)}" in text


async def test_an_incident_without_a_playbook_has_no_checklist() -> None:
    world = make_world(MemoryStore())
    await world.session.say("bob", "/crisis declare Something odd")
    assert await world.service.tasks(1) == []
    assert "there is no playbook" in " ".join(await world.say("bob", "/crisis task"))


async def test_tasks_are_tracked_on_every_store(store: Store) -> None:
    world = make_world(store)
    await world.session.say("bob", "/crisis declare kind:account_compromise Main account hacked")
    await world.say("bob", "/crisis role @carol monitor")
    assert await world.say("carol", "/crisis task done 1") == ["Done."]
    assert "Item 1 is already done." in await world.say("carol", "/crisis task done 1")
    await world.say("bob", "/crisis task assign 5 @dave")
    assert "has no checklist item 99" in " ".join(await world.say("bob", "/crisis task done 99"))
    assert "Changing INC-1 needs a role in it; ask @bob for one." in " ".join(
        await world.say("mallory", "/crisis task done 2"))
    listing = await world.say("bob", "/crisis task")
    assert listing[0] == "Checklist of INC-1: 1 of 9 done."
    assert listing[1].startswith("☑ 1. Lock the account")
    assert listing[5].endswith("(spokesperson) → @dave")
    await world.say("bob", "/crisis task undo 1")
    tasks = await world.service.tasks(1)
    assert not tasks[0].done
    assert tasks[4].assignee == "local:dave"
    text = await world.channel_text()
    assert "@carol completed item 1: Lock the account" in text
    assert "Item 5 is now with @dave: Warn followers" in text
    summary = (await world.chat.texts(await world.chat.space_of(1)))[0]
    assert "Checklist: 9 open items of 9" in summary
    events = [e.kind for e in (await world.service.load(1))[2]]
    assert EventKind.TASK_DONE in events
    assert EventKind.TASK_REOPENED in events
    assert EventKind.TASK_ASSIGNED in events


async def test_language_override_is_kept_and_used(store: Store) -> None:
    world = make_world(store)
    await world.session.say("bob", "/crisis declare SEV2 kind:data_breach Customer data leak")
    assert await world.say("bob", "/crisis lang ru") == ["Готово."]
    assert (await world.service.load(1))[0].language == "ru"
    # a refusal carries no incident, so it is told in the team's language
    assert "already speaks Русский" in " ".join(await world.say("bob", "/crisis lang ru"))
    await world.say("bob", "/crisis task done 1")
    await world.say("bob", "/crisis draft template holding")
    summary = (await world.chat.texts(await world.chat.space_of(1)))[0]
    assert "Координатор: @bob" in summary
    assert "Чек-лист: открыто 9 пунктов из 10" in summary
    text = await world.channel_text()
    assert "язык инцидента INC-1 — Русский" in text
    assert "Пункт 1 выполнен (@bob): Локализовать утечку" in text
    assert "Мы выявили инцидент информационной безопасности" in text  # the ru template
    report = await world.say("bob", "/crisis report")
    assert "# Отчёт по итогам инцидента" in report[0]
    await world.say("bob", "/crisis lang default")
    assert (await world.service.load(1))[0].language is None
    assert "Checklist of INC-1" in (await world.say("bob", "/crisis task"))[0]
