"""docs/glossary.md is the catalogues' contract: one term per idea in each language.

The glossary's table is read here, so adding a term there adds its checks: a translation may
not use a word the glossary tells translators to avoid, and a message that names a term in
English names it with the glossary's word in ru and fa.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALE_DIR

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
LANGUAGES = ("ru", "fa")
_TICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Term:
    name: str
    english: re.Pattern[str]
    stems: dict[str, re.Pattern[str]]
    avoid: dict[str, tuple[str, ...]]


def _section(title: str) -> list[list[str]]:
    """The rows (cells) of the first table under the heading `## title`."""
    text = GLOSSARY.read_text(encoding="utf-8").split(f"## {title}\n", 1)[1]
    rows = []
    for line in text.splitlines():
        if line.startswith("## "):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def _stems(cell: str) -> tuple[list[str], tuple[str, ...]]:
    use, _, avoid = cell.partition("avoid:")
    return _TICKED.findall(use), tuple(_TICKED.findall(avoid))


@cache
def terms() -> tuple[Term, ...]:
    found = []
    for en, *cells in _section("Terms"):
        [english], _ = _stems(en)
        stems, avoid = {}, {}
        for language, cell in zip(LANGUAGES, cells, strict=True):
            use, avoid[language] = _stems(cell)
            stems[language] = re.compile("|".join(use), re.IGNORECASE)
        found.append(Term(en.split(" (")[0], re.compile(rf"\b{english}", re.IGNORECASE), stems,
                          avoid))
    return tuple(found)


@cache
def exceptions() -> frozenset[tuple[str, str]]:
    """(start of the English message, term name) pairs the presence check skips."""
    return frozenset((_TICKED.findall(start)[0], term) for start, term, _why
                     in _section("Exceptions"))


@cache
def translated(language: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(English text, its translated forms) of every translated catalogue entry."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return tuple((_english(m), _forms(m)) for m in catalog if m.id and any(_forms(m)))


def _english(message: Message) -> str:
    return message.id if isinstance(message.id, str) else " ".join(message.id)


def _forms(message: Message) -> tuple[str, ...]:
    return (message.string,) if isinstance(message.string, str) else tuple(message.string)


_NOT_WORDS = re.compile(r"\{[^}]*\}|<[^>]*>|\[[^\]]*\]|/crisis(?: [a-z]+)*")
"""Fields, argument names and commands: what people type or the code fills in, not words."""


def _words(english: str) -> str:
    return _NOT_WORDS.sub(" ", english)


def _excepted(english: str, term: Term) -> bool:
    return any(english.startswith(start) and name.startswith(term.name.split(",")[0])
               for start, name in exceptions())


def test_the_glossary_parses() -> None:
    names = [t.name for t in terms()]
    assert {"alert", "incident", "draft", "statement", "commander", "spokesperson"} <= set(names)
    assert all(t.stems["ru"].pattern and t.stems["fa"].pattern for t in terms())
    assert ("`the alert has resolved`".strip("`"), "resolve") in exceptions()


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_avoided_word_in_the_catalogue(language: str) -> None:
    problems = [f"  {word!r} ({term.name}) in {english!r}: {text!r}"
                for term in terms() for word in term.avoid[language]
                for english, forms in translated(language) for text in forms
                if word.lower() in text.lower()]
    assert not problems, (f"{language}: words docs/glossary.md says to avoid:\n"
                          + "\n".join(problems))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_term_is_translated_with_the_glossary_word(language: str) -> None:
    problems = [f"  {term.name}: {english!r} -> {text!r}"
                for term in terms() for english, forms in translated(language)
                if term.english.search(_words(english)) and not _excepted(english, term)
                for text in forms if not term.stems[language].search(text)]
    assert not problems, (f"{language}: a term translated without the glossary's word "
                          f"(docs/glossary.md):\n" + "\n".join(problems))


def test_the_check_catches_drift() -> None:
    """The drift issue #17 found ("алерт" in digests, beside "оповещение" everywhere else)."""
    [alert] = [t for t in terms() if t.name == "alert"]
    assert "алерт" in alert.avoid["ru"]
    assert not alert.stems["ru"].search("+1 алерт за последние 60 с")
    assert alert.stems["ru"].search("+1 оповещение за последние 60 с")
