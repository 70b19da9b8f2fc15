"""Issue #17's acceptance: `crisisbot demo --lang ru|fa` read as a native reader would.

No English word is left outside what people type (commands, ids, role ids, template names,
the brand and the example domains), numbers are in the locale's format (ru: no-break space
thousands; fa: Persian digits and separators), and roles are named by the catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.text import FSI, PDI

TYPED = re.compile(
    r"https?://\S+"  # links people posted
    r"|/crisis(?:[ \u2068\u2069]+[\w:@./<>|\[\]\u2068\u2069-]*[A-Za-z0-9_:@./<>|\[\]-])*"
    r"|[@#][\w-]+"  # @handles and #channels
    r"|:\w+:"  # reaction names
    r"|\bINC-\d+|\bSEV\d"
)
"""What people type or pick (commands with their arguments, ids, handles, channel names)."""
ALLOWED = {"UTC", "BrightMilk", "crisisbot", "chart", "food", "safety", "example", "social",
           "holding", "rebuttal", "update", "closing"}
"""Names, not words: the time zone, the brand, the product, the example domains, the fenced
chart block's tag and the template names people type after `/crisis draft template`."""


def demo(language: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         tmp_path: Path) -> str:
    monkeypatch.chdir(tmp_path)
    for name in ("CRISISBOT_LANGUAGE", "CRISISBOT_CONFIG", "CRISISBOT_DATABASE_URL",
                 "CRISISBOT_CALENDAR"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo", "--lang", language]) == 0
    return capsys.readouterr().out


def english_words(text: str) -> list[str]:
    words = re.findall(r"[A-Za-z]{2,}", TYPED.sub(" ", text))
    return sorted(set(words) - ALLOWED)


@pytest.mark.slow
@pytest.mark.parametrize("language", ["ru", "fa"])
def test_the_demo_has_no_english_words(language: str, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = demo(language, capsys, monkeypatch, tmp_path)
    assert english_words(out) == []
    # the filter lets ids through, not sentences
    assert english_words("@bob made @carol spokesperson at 08:30 UTC") == ["at", "made",
                                                                          "spokesperson"]


@pytest.mark.slow
def test_the_russian_demo_reads_russian(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = demo("ru", capsys, monkeypatch, tmp_path)
    assert "охват 58\u00a0700" in out  # a no-break space groups thousands
    assert "негатив 100\u00a0%" in out
    assert "| время до принятия в работу | 5 мин |" in out
    assert "| время до урегулирования | 1 ч 32 мин |" in out
    assert "14.03.2026, 08:30 UTC" in out
    assert "@carol получает роль «официальный представитель»." in out
    assert "- Официальный представитель: @carol" in out
    assert "- Согласующий: @dave, @erin" in out
    assert "Согласования: 0 из 2 (согласующий)" in out
    assert "(видит только @bob)" in out
    assert "алерт" not in out
    assert "выполняет пункт" not in out


@pytest.mark.slow
def test_the_persian_demo_reads_persian(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = demo("fa", capsys, monkeypatch, tmp_path)
    assert "دسترسی ۵۸٬۷۰۰" in out
    assert "۱۰۰٪ منفی" in out
    assert "| زمان تا حل رخداد | ۱ ساعت ۳۲ دقیقه |" in out
    assert f"{FSI}۲۰۲۶/۳/۱۴،\u200f ۸:۳۰ UTC{PDI}" in out
    assert f"نقش سخنگو به {FSI}@carol{PDI} سپرده شد." in out
    assert f"- تأییدکننده: {FSI}@dave{PDI}،\u200f {FSI}@erin{PDI}" in out
    # Latin digits only inside what people type and the local chat's message numbers
    latin = re.sub(r"\[\u2068?\d+\u2069?\]|رشتهٔ \u2068\d+\u2069", " ", TYPED.sub(" ", out))
    assert re.findall(r".{0,20}[0-9].{0,20}", latin) == []
