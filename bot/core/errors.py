"""Refusals the user caused: each carries a translatable message that says what to do instead."""

from __future__ import annotations

from typing import Any

from bot.core.text import Text, render


class CrisisError(Exception):
    """A request the rules refuse; nothing was changed."""

    def __init__(self, text: Text) -> None:
        super().__init__(render(text))
        self.text = text


class NotFound(CrisisError):
    """An incident, draft or role that does not exist."""


class Forbidden(CrisisError):
    """The actor may not do this (not an approver, own draft, not a responder)."""


class Invalid(CrisisError):
    """Malformed or illegal input: a bad command, an illegal transition."""


def invalid(msgid: str, **params: Any) -> Invalid:
    return Invalid(Text(msgid, params))
