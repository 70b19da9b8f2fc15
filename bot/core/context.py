"""What every use case shares, whichever module holds it: the command's context, the private
reply, and the decorator that puts every person under their one bound id."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from bot.core import commands as cmd
from bot.core.access import Origin
from bot.core.models import PersonId, Space
from bot.core.rules import Rules
from bot.core.text import Text


@dataclass(frozen=True)
class Context:
    """Who sent a command, from which platform, in which space (if any), how that platform
    turns a mention into a person (Telegram looks usernames up; locally a name is the id), and
    from which kind of chat (`Origin`: the adapter says; `bot.core.access` decides)."""

    actor: PersonId
    platform: str
    space: Space | None = None
    resolve: Callable[[cmd.Mention], PersonId] | None = None
    origin: Origin = field(kw_only=True)

    def person(self, mention: cmd.Mention) -> PersonId:
        return self.resolve(mention) if self.resolve else mention.person(self.platform)


@dataclass(frozen=True)
class Reply:
    """What the sender alone sees in answer to a command (errors are raised, not replied)."""

    lines: list[Text]
    incident: int | None = None
    language: str | None = None
    """The incident's own language, when it has one: the reply is rendered in it."""
    private: bool = False
    """For the sender's eyes only (a sign-in link): where an answer would be seen by a whole
    chat, the adapter sends it to the sender directly, and never through the outbox (which
    stores what it sends)."""


class HasRules(Protocol):
    rules: Rules


P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="HasRules")
PERSON_PARAMETERS = ("actor", "person", "invite")


def canonical_people(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Put every person a use case receives (`actor`, `person`, `invite`) under their one
    bound id (`Rules.canonical`) before it runs, so a human acting from Slack and from
    Telegram holds one set of roles and approves once. Every entry point that takes a person
    wears this; `execute`, buttons and reactions all come through them."""
    signature = inspect.signature(method)
    names = [n for n in PERSON_PARAMETERS if n in signature.parameters]

    @wraps(method)
    async def with_canonical_people(self: S, /, *args: P.args,
                                    **kwargs: P.kwargs) -> R:
        bound = signature.bind(self, *args, **kwargs)
        for name in names:
            if name not in bound.arguments:
                continue
            value = bound.arguments[name]
            bound.arguments[name] = (self.rules.canonical(value) if isinstance(value, str)
                                     else tuple(dict.fromkeys(map(self.rules.canonical, value))))
        run: Callable[..., Awaitable[R]] = method
        return await run(*bound.args, **bound.kwargs)

    setattr(with_canonical_people, "canonical_people", True)  # noqa: B010 (tests check it)
    return with_canonical_people
