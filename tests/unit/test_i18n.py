"""The three-language machinery: every message id in bot/ is translated into ru and fa, the
translations keep their `{fields}` and the words users type, plural forms follow each language,
Persian isolates names and ids, and the demo speaks the chosen language.

After adding or changing messages run `make i18n`, then translate what these tests list.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.core.text import FSI, N_, PDI, Joined, Prefixed, Text, Who, _
from bot.i18n import DOMAIN, LOCALE_DIR, PoCatalog, Untranslated, catalog, renderer

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
LANGUAGES = ("ru", "fa")
KEYWORDS = {"_": None, "N_": (1, 2), "invalid": None}
"""Keep in step with KEYWORDS in the Makefile."""

PLURAL_FORMS = {
    "ru": (3, "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"),
    "fa": (2, "(n > 1)"),
}

MsgId = str | tuple[str, str]


# -- helpers --------------------------------------------------------------------------------


@cache
def extracted() -> dict[MsgId, list[str]]:
    """Every message id Babel extracts from bot/ today (with babel.cfg), and where it is."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[MsgId, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(BOT), method_map, options_map, keywords=KEYWORDS
    ):
        key: MsgId = message if isinstance(message, str) else (message[0], message[1])
        found.setdefault(key, []).append(f"bot/{filename}:{lineno}")
    return found


@cache
def po(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def messages(language: str) -> Iterator[Message]:
    yield from (m for m in po(language) if m.id)


def singular(msgid: str | tuple[str, ...] | list[str]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def fields(text: str) -> set[str]:
    """`{name}` fields of a str.format template (raises ValueError when the braces are broken)."""
    names = set()
    for _literal, name, _spec, _conversion in string.Formatter().parse(text):
        if name is not None:
            names.add(re.split(r"[.\[]", name, maxsplit=1)[0])
    return names


def forms(message: Message) -> tuple[str, ...]:
    value = message.string
    return tuple(value) if isinstance(value, (tuple, list)) else (value or "",)


# -- (a) every message id is translated -----------------------------------------------------


def test_extraction_finds_messages() -> None:
    found = extracted()
    assert "Done." in found
    assert ("{n} alert, first at {first}, last at {last}.",
            "{n} alerts, first at {first}, last at {last}.") in found
    # nested two calls deep inside another _(): Babel's own python extractor drops this one
    assert "#{number} {state}" in found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    """Fails listing each message id (with where it is used) that the catalogue lacks, leaves
    untranslated, or marks fuzzy. Fix: `make i18n`, then translate the listed entries."""
    cat = po(language)
    problems = []
    for msgid, where in sorted(extracted().items(), key=lambda kv: kv[1][0]):
        entry = cat.get(singular(msgid))
        if entry is None:
            problem = "missing"
        elif isinstance(msgid, tuple) != isinstance(entry.id, tuple):
            problem = "plural forms differ from the code (run make i18n)"
        elif entry.fuzzy:
            problem = "fuzzy"
        elif not all(forms(entry)):
            problem = "untranslated"
        elif isinstance(msgid, tuple) and len(forms(entry)) != cat.num_plurals:
            problem = f"needs {cat.num_plurals} plural forms, has {len(forms(entry))}"
        else:
            continue
        problems.append(f"  {problem}: {singular(msgid)!r} ({', '.join(where)})")
    assert not problems, (
        f"{language} catalogue ({DOMAIN}.po) is not complete; run `make i18n` and translate:\n"
        + "\n".join(problems)
    )


def test_template_is_up_to_date() -> None:
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("rb") as handle:
        template = read_po(handle)
    stale = sorted(singular(m) for m in extracted() if template.get(singular(m)) is None)
    assert not stale, f"bot/locale/{DOMAIN}.pot is stale; run `make i18n`. Missing: {stale}"
    # `{name}` fields are brace format; a `%` flagged as printf style would be a mistake
    printf = [singular(m.id) for m in template if m.id and "python-format" in m.flags]
    assert not printf, f"message ids flagged python-format (use {{name}} fields): {printf}"


def test_message_ids_are_literals() -> None:
    """A message id built at run time (variable, f-string, `+`) can never be extracted."""
    dynamic = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in {"_", "N_"}):
                count = 2 if node.func.id == "N_" else 1
                literal = all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                              for a in node.args[:count])
                if not literal or len(node.args) < count:
                    dynamic.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not dynamic, f"message ids must be string literals: {dynamic}"


# -- (b) translations keep their fields and the words users type ----------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders(language: str) -> None:
    problems = []
    for message in messages(language):
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        expected = set().union(*(fields(i) for i in ids))
        for text in forms(message):
            if not text:
                continue
            try:
                got = fields(text)
            except ValueError as broken:
                problems.append(f"  {singular(message.id)!r}: broken braces in {text!r} ({broken})")
                continue
            # a plural form may leave out {n} ("one alert"), never anything else
            allowed_missing = {"n"} if isinstance(message.id, tuple) else set()
            if got - expected or (expected - got) - allowed_missing:
                problems.append(f"  {singular(message.id)!r}: expected {sorted(expected)}, "
                                f"got {sorted(got)} in {text!r}")
    assert not problems, f"{language}: placeholders differ:\n" + "\n".join(problems)


_TYPED = re.compile(r"/crisis(?: [a-z]+)*|SEV\d(?:\|SEV\d)*|INC-\d+|\[responding\|monitoring\]"
                    r"|role remove")


@pytest.mark.parametrize("language", LANGUAGES)
def test_typed_words_stay_untranslated(language: str) -> None:
    """Commands, severities and ids the user must type appear verbatim in the translation."""
    problems = []
    for message in messages(language):
        source = message.id if isinstance(message.id, str) else " ".join(message.id)
        for text in forms(message):
            lost = [w for w in _TYPED.findall(source) if w not in text]
            if text and lost:
                problems.append(f"  {singular(message.id)!r}: {lost} missing in {text!r}")
    assert not problems, f"{language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_markdown_markers_kept(language: str) -> None:
    problems = []
    for message in messages(language):
        for text in forms(message):
            source = singular(message.id)
            head = re.match(r"^(\s*(?:#+ |- |\|)?)", source)
            assert head is not None
            if text and not text.startswith(head.group(1)):
                problems.append(f"  {source!r} -> {text!r}")
            if text and source.endswith("|") and not text.endswith("|"):
                problems.append(f"  {source!r} -> {text!r}")
    assert not problems, f"{language}: Markdown markers lost:\n" + "\n".join(problems)


# -- (c) right-to-left isolation ------------------------------------------------------------


def test_persian_isolates_names_and_ids() -> None:
    render = renderer("fa")
    text = render(_("{person} acknowledged {incident}; commander: {commander}.",
                    person=Who("local:bob"), incident="INC-7", commander=Who("local:carol")))
    assert f"{FSI}@bob{PDI}" in text
    assert f"{FSI}INC-7{PDI}" in text
    assert f"{FSI}@carol{PDI}" in text
    assert "acknowledged" not in text
    assert "پذیرفت" in text
    # lists isolate each person, joined with the Persian separator; a number is written in
    # Persian digits (no isolate needed); a nested Text is translated, not isolated as a whole
    joined = render(_("Draft #{number} is approved and ready to publish. Approved by {people}.",
                      number=3, people=Joined((Who("local:dave"), Who("local:erin")))))
    assert f"{FSI}@dave{PDI}،\u200f {FSI}@erin{PDI}" in joined
    assert "شمارهٔ ۳ " in joined
    nested = render(_("Severity: {severity} · Kind: {kind} · Status: {status}", severity="SEV2",
                      kind=_("data breach"), status=_("monitoring")))
    assert "نشت داده" in nested
    assert f"{FSI}نشت داده" not in nested
    assert f"{FSI}SEV2{PDI}" in nested
    prefixed = render(_("{who} resolved the incident{summary}", who=Who("local:bob"),
                        summary=Prefixed(": ", "done")))
    assert prefixed.endswith(f": {FSI}done{PDI}")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_left_to_right_languages_do_not_isolate(language: str) -> None:
    text = renderer(language)(_("{person} acknowledged {incident}; commander: {commander}.",
                                person=Who("local:bob"), incident="INC-7",
                                commander=Who("local:carol")))
    assert FSI not in text
    assert PDI not in text
    assert "@bob" in text
    assert "INC-7" in text
    if language == "ru":
        assert "принят в работу" in text


def test_translations_carry_no_bidi_controls() -> None:
    """Isolation is the renderer's job; control characters typed into a .po file would end up
    in commands people copy."""
    controls = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
    bad = [singular(m.id) for m in messages("fa") for t in forms(m) if controls.search(t)]
    assert not bad


# -- (d) plural forms -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_header(language: str) -> None:
    count, expression = PLURAL_FORMS[language]
    cat = po(language)
    assert cat.num_plurals == count
    assert cat.plural_expr == expression
    assert f"nplurals={count}; plural={expression};" in cat.plural_forms


ALERTS = ("{n} alert, first at {first}, last at {last}.",
          "{n} alerts, first at {first}, last at {last}.")


@pytest.mark.parametrize(("n", "word"), [
    (1, "оповещение"), (2, "оповещения"), (5, "оповещений"), (11, "оповещений"),
    (21, "оповещение"), (22, "оповещения"), (25, "оповещений"), (0, "оповещений"),
    (12, "оповещений"), (104, "оповещения"), (111, "оповещений"),
])
def test_russian_plurals(n: int, word: str) -> None:
    text = renderer("ru")(N_(*ALERTS, n, first="08:30", last="08:32"))
    assert text.startswith(f"{n} {word},")
    assert "{" not in text


def _synthetic(language: str) -> PoCatalog:
    """A catalogue with the language's real header and distinct forms, to see the index."""
    count, expression = PLURAL_FORMS[language]
    cat = Catalog(locale=language)
    cat.mime_headers = [("Plural-Forms", f"nplurals={count}; plural={expression};")]
    cat.add(("{n} x", "{n} xs"), tuple(f"form{i} {{n}}" for i in range(count)))
    cat.add("fuzzy one", "нечётко", flags=["fuzzy"])
    cat.add(("fuzzy {n}", "fuzzies {n}"), tuple("нечётко" for _ in range(count)), flags=["fuzzy"])
    return PoCatalog(cat)


@pytest.mark.parametrize(("n", "index"), [(1, 0), (2, 1), (5, 2), (11, 2), (21, 0), (22, 1),
                                          (25, 2), (0, 2), (101, 0), (1000, 2)])
def test_ru_plural_index(n: int, index: int) -> None:
    assert _synthetic("ru").ngettext("{n} x", "{n} xs", n) == f"form{index} {{n}}"


@pytest.mark.parametrize(("n", "index"), [(0, 0), (1, 0), (2, 1), (5, 1), (11, 1), (21, 1)])
def test_fa_plural_index(n: int, index: int) -> None:
    assert _synthetic("fa").ngettext("{n} x", "{n} xs", n) == f"form{index} {{n}}"


def test_fuzzy_and_missing_fall_back_to_english() -> None:
    cat = _synthetic("ru")
    assert cat.gettext("fuzzy one") == "fuzzy one"
    assert cat.ngettext("fuzzy {n}", "fuzzies {n}", 2) == "fuzzies {n}"
    assert cat.gettext("not there") == "not there"
    assert cat.ngettext("not there", "not theres", 1) == "not there"
    english = Untranslated()
    assert english.ngettext("a", "b", 1) == "a"
    assert english.ngettext("a", "b", 0) == "b"


def test_real_catalogues_load() -> None:
    assert isinstance(catalog("ru"), PoCatalog)
    assert isinstance(catalog("fa"), PoCatalog)
    assert isinstance(catalog("en"), Untranslated)
    assert catalog("ru").gettext("Done.") == "Готово."
    assert renderer("fa")(Text("")) == ""


# -- (e) the demo speaks the chosen language ------------------------------------------------

ENGLISH = [
    "Draft #",
    "is approved and ready to publish",
    "Post-incident report",
    "Severity:",
    "Commander:",
    "Approvals:",
    "posted for approval",
    "You approved",
    "Alerts arrive from social listening",
    "## Timeline",
    "time to acknowledge",
]
TRANSLATED = {
    "ru": ["Черновик №1", "согласован и готов к публикации", "# Отчёт по итогам инцидента",
           "Критичность:", "Координатор:", "## Хронология", "3 оповещения,",
           "время до принятия в работу"],
    "fa": ["پیش‌نویس شمارهٔ", "تأیید شد و آمادهٔ انتشار است", "# گزارش پس از رخداد",
           "سطح شدت:", "هماهنگ‌کننده:", "## خط زمانی", "زمان تا پذیرش رخداد",
           f"{FSI}@dave{PDI}"],
}


def _english_fragments() -> set[str]:
    """Literal runs of every catalogue message id that hold three or more English words."""
    found = set()
    for msgid in extracted():
        for text in (msgid,) if isinstance(msgid, str) else msgid:
            for literal, *_rest in string.Formatter().parse(text):
                for run in re.split(r"[“”«»():;.,—|#\-]", literal):
                    run = run.strip()
                    if len(re.findall(r"[A-Za-z]{2,}", run)) >= 3 and "/crisis" not in run:
                        found.add(run)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
def test_demo_speaks_the_language(language: str, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("CRISISBOT_LANGUAGE", "CRISISBOT_CONFIG", "CRISISBOT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "--lang", language]) == 0
    out = capsys.readouterr().out
    leaked = [s for s in ENGLISH if s in out]
    leaked += sorted(f for f in _english_fragments() if f in out)
    assert not leaked, f"English message text in `crisisbot demo --lang {language}`: {leaked}"
    missing = [s for s in TRANSLATED[language] if s not in out]
    assert not missing, f"expected {language} text not in the demo: {missing}"
    assert (FSI in out) == (language == "fa")
