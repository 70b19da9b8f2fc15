"""The redacting filter: message, arguments, exception and stack text."""

from __future__ import annotations

import logging

import pytest

from bot.logsafe import MASK, Redactor, url_secrets


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args or None,
                             (type(exc), exc, exc.__traceback__) if exc else None)


@pytest.fixture
def redactor() -> Redactor:
    found = Redactor()
    found.add(["hunter2-password", "xoxb-secret", None, "abc"])
    return found


def test_message_and_arguments(redactor: Redactor) -> None:
    r = record("connect %s with %s", "db", "hunter2-password")
    redactor.filter(r)
    assert r.getMessage() == f"connect db with {MASK}"


def test_bot_api_url_without_configured_token(redactor: Redactor) -> None:
    r = record('HTTP Request: POST %s "HTTP/1.1 200 OK"',
               "https://api.telegram.org/bot123456:AAH-x_y/sendMessage")
    redactor.filter(r)
    assert r.getMessage() == f'HTTP Request: POST https://api.telegram.org/bot{MASK}/sendMessage'\
        ' "HTTP/1.1 200 OK"'


def test_exception_text(redactor: Redactor) -> None:
    try:
        raise ValueError("The token `xoxb-secret` was rejected by the server.")
    except ValueError as error:
        r = record("start-up failed", exc=error)
    redactor.filter(r)
    text = logging.Formatter().format(r)
    assert "xoxb-secret" not in text
    assert f"The token `{MASK}` was rejected" in text


def test_short_values_and_untouched_records(redactor: Redactor) -> None:
    r = record("abc %d", 1)
    redactor.filter(r)
    assert r.args == (1,)  # nothing to hide: the record keeps its arguments
    assert r.getMessage() == "abc 1"


def test_the_credentials_of_a_url() -> None:
    assert url_secrets("https://reader:pa%2Fss@feeds.example/f?token=t%2B1&lang=en") == [
        "pa%2Fss", "pa/ss", "token=t%2B1&lang=en", "token=t+1&lang=en", "t%2B1", "t+1"]
    assert url_secrets("https://ghp_0123456789@feeds.example/f") == ["ghp_0123456789"]
    assert url_secrets("https://feeds.example/f") == []
    # A Slack or Discord webhook keeps its secret in the path.
    assert url_secrets("https://hooks.slack.com/services/T0001/B0002/AbCdEfGhIjKlMnOpQrStUvWx") == [
        "AbCdEfGhIjKlMnOpQrStUvWx"]
    assert url_secrets("https://u:p4ss@[::1/f") == []
