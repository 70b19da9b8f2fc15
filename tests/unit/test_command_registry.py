"""The command registry: one entry per command, complete (a missing or half entry is refused
when the registry is built), and the help, Telegram's command list and the README's command
table all agree with it."""

from __future__ import annotations

import re
import typing
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core import access
from bot.core import commands as cmd
from bot.core.command_registry import REGISTRY, Registry

README = Path(__file__).resolve().parents[2] / "README.md"
ACTIONS = typing.get_args(cmd.Action)


@pytest.mark.parametrize("action", ACTIONS, ids=[a.__name__ for a in ACTIONS])
def test_every_command_has_one_complete_entry(action: type[cmd.Action]) -> None:
    entry = REGISTRY[action]
    assert entry.action is action
    assert entry.names
    assert access.need(action) is entry.need
    assert any(e.help for e in REGISTRY.entries if e.verb == entry.verb)
    for name in entry.names:  # its own names parse to it
        verb, *sub = name.split()
        found = REGISTRY.entry_for(verb, sub[0] if sub else None)
        assert found is entry


def test_a_command_without_an_entry_is_refused() -> None:
    without = [e for e in REGISTRY.entries if e.action is not cmd.Lesson]
    with pytest.raises(ValueError, match="missing \\['Lesson'\\]"):
        Registry(without)


def test_a_command_with_two_entries_is_refused() -> None:
    with pytest.raises(ValueError, match="1 repeated"):
        Registry([*REGISTRY.entries, REGISTRY[cmd.Note]])


def test_a_verb_without_help_is_refused() -> None:
    entries = [replace(e, help=()) if e.action is cmd.Lesson else e for e in REGISTRY.entries]
    with pytest.raises(ValueError, match="“lesson” has no help line"):
        Registry(entries)


def test_a_name_or_verb_used_twice_is_refused() -> None:
    entries = [replace(e, names=("note",)) if e.action is cmd.Lesson else e
               for e in REGISTRY.entries]
    with pytest.raises(ValueError, match="“note” names two commands"):
        Registry(entries)
    entries = [replace(e, aliases=("note",)) if e.action is cmd.Lesson else e
               for e in REGISTRY.entries]
    with pytest.raises(ValueError, match="“note” is two verbs"):
        Registry(entries)


def test_a_verb_needs_a_command_of_its_own_name() -> None:
    entries = [replace(e, names=("task show",)) if e.action is cmd.ShowTasks else e
               for e in REGISTRY.entries]
    with pytest.raises(ValueError, match="no command is named “task” alone"):
        Registry(entries)


def test_the_help_lists_every_verb_in_order() -> None:
    usages = [usage.msgid for usage, _meaning in REGISTRY.help()]
    assert usages == [
        "/crisis declare [SEV1-4] [kind:<kind>] <title>", "/crisis ack",
        "/crisis role <@person> <role>", "/crisis severity SEV1|SEV2|SEV3|SEV4",
        "/crisis status [responding|monitoring] <text>", "/crisis draft [to:<target>] <text>",
        "/crisis draft revise <n> <text>", "/crisis approve [n]", "/crisis reject [n] <reason>",
        "/crisis publish [n] [to:<destination>] [public title]", "/crisis note <text>",
        "/crisis timeline", "/crisis roles", "/crisis resolve [summary]", "/crisis reopen",
        "/crisis report",
        "/crisis task [done|undo|assign] <n> [<@person>]", "/crisis templates",
        "/crisis draft template <name> [to:<target>]", "/crisis lang en|ru|fa|default",
        "/crisis lesson <text>", "/crisis drill <kind>", "/crisis web", "/crisis help",
    ]
    assert {u.split()[1] for u in usages} == {e.verb for e in REGISTRY.entries}


def test_telegram_lists_each_verb_once_with_its_first_meaning() -> None:
    verbs = REGISTRY.verbs()
    assert list(verbs) == ["declare", "ack", "role", "severity", "status", "draft", "approve",
                           "reject", "publish", "note", "timeline", "roles", "resolve", "reopen",
                           "report", "task", "templates", "lang", "lesson", "drill", "web",
                           "help"]
    assert verbs["draft"].msgid == "propose a public statement or reply for approval"


def readme_command_names() -> list[str]:
    """The command names the README's "Using it" table shows: a verb, or a verb and its
    sub-command (`task done\\|undo <n>` is `task done` and `task undo`)."""
    section = README.read_text(encoding="utf-8").split("## Using it", 1)[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    known = set(REGISTRY.names())
    names: list[str] = []
    for row in rows:
        first_cell = re.split(r"(?<!\\)\|", row)[1]
        for usage in re.findall(r"`([^`]+)`", first_cell):
            words = usage.split()
            verb, rest = (words[1], words[2:]) if words[0] == "/crisis" else (words[0], words[1:])
            subs = [f"{verb} {s}" for s in rest[0].split("\\|")] if rest else []
            names += [s for s in subs if s in known] or [verb]
    return names


def test_the_readme_command_table_shows_every_command_once() -> None:
    names = readme_command_names()
    assert sorted(names) == sorted(REGISTRY.names())
