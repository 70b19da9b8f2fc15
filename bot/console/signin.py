"""Sign-in without passwords: a one-time link bound to one person, valid for a while.

The token is 32 random bytes; only its SHA-256 is stored, so a copy of the database signs
nobody in. A link is used up by the first sign-in (a conditional update in the store).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.errors import Invalid
from bot.core.models import PersonId
from bot.core.ports import Clock
from bot.core.rules import check_sign_in_ttl
from bot.core.text import _

PERSON_ID = re.compile(r"^(local|slack|telegram):@?[\w.\-]{1,64}$")
SIGN_IN_PATH = "/signin/"

AddLink = Callable[[str, PersonId, datetime, datetime], Awaitable[None]]
UseLink = Callable[[str, datetime], Awaitable[PersonId | None]]
LinkUsable = Callable[[str, datetime], Awaitable[PersonId | None]]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_person(person: str) -> PersonId:
    """A person id as everywhere (`local:alice`, `slack:U123`, `telegram:93372553`)."""
    if not PERSON_ID.match(person):
        raise Invalid(_("“{person}” is not a person id; use the form local:alice, slack:U123 "
                        "or telegram:93372553.", person=person))
    return person


class SignInLinks:
    def __init__(self, add: AddLink, use: UseLink, usable: LinkUsable, clock: Clock,
                 base_url: str) -> None:
        self._add = add
        self._use = use
        self._usable = usable
        self._clock = clock
        self._base_url = base_url.rstrip("/")

    async def issue(self, person: str, ttl: timedelta) -> str:
        """A new link that signs `person` in once, within `ttl`."""
        check_sign_in_ttl(ttl)
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        await self._add(token_hash(token), check_person(person), now, now + ttl)
        return f"{self._base_url}{SIGN_IN_PATH}{token}"

    async def usable(self, token: str) -> PersonId | None:
        """The person the link would sign in, if it is still usable; None if not. Only a
        look: the link stays unused (a GET, a preview, must not use it up)."""
        return await self._usable(token_hash(token), self._clock.now())

    async def redeem(self, token: str) -> PersonId | None:
        """The person the link signs in, using the link up; None if it is used, expired or
        unknown."""
        return await self._use(token_hash(token), self._clock.now())
