"""Signing in to the web console from the chat (`/crisis web`)."""

from __future__ import annotations

from datetime import timedelta

from bot.core.errors import Invalid
from bot.core.models import PersonId
from bot.core.ports import SignIn
from bot.core.text import N_, Text, _


async def web_link(sign_in: SignIn | None, ttl: timedelta, actor: PersonId) -> Text:
    """A one-time link signing `actor` in to the web console, in the words that tell them
    how long it lasts."""
    if sign_in is None:
        raise Invalid(_("This crisisbot has no web console."))
    link = await sign_in.issue(actor, ttl)
    minutes = max(1, int(ttl.total_seconds() // 60))
    return N_("Your sign-in link to the web console, for you alone, once, within {n} "
              "minute: {link}",
              "Your sign-in link to the web console, for you alone, once, within {n} "
              "minutes: {link}", minutes, link=link)
