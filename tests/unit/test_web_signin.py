"""`/crisis web` through the service: a team member (in the team chat or a private chat the bot
knows) gets a private reply with a one-time link that signs them in, under their one bound id;
an outsider gets the one-line refusal and no link; the link's token never reaches a log line."""

from __future__ import annotations

import logging
import re

import pytest

from bot.chat.local import local_person
from bot.console.signin import SignInLinks
from bot.core import access
from bot.core.access import Origin
from bot.core.commands import parse
from bot.core.context import Context
from bot.core.errors import Forbidden
from bot.core.rules import Rules
from bot.logsafe import MASK, Redactor
from bot.storage.memory import MemoryStore
from tests.unit.playworld import MemoryLinks, make_world

LINK = re.compile(r"https://crisis\.example/signin/([\w-]+)")


def context(person: str, origin: Origin) -> Context:
    return Context(person, "telegram", None, local_person, origin=origin)


@pytest.mark.parametrize("origin", [Origin.TEAM, Origin.MEMBER])
async def test_a_team_member_gets_a_private_link_that_signs_them_in_once(
        origin: Origin) -> None:
    world = make_world(MemoryStore())
    links = MemoryLinks()
    world.service.sign_in = links.on(world.clock)
    reply = await world.service.execute(parse("/crisis web"), context("telegram:101", origin))
    assert reply.private
    [line] = reply.lines
    text = world.chat.render(line)
    assert "within 10 minutes" in text
    token = LINK.search(text)
    assert token is not None
    signed_in = SignInLinks(links.add, links.use, links.usable, world.clock,
                            "https://crisis.example")
    assert await signed_in.redeem(token.group(1)) == "telegram:101"
    assert await signed_in.redeem(token.group(1)) is None  # single use


async def test_the_link_expires_with_the_configured_lifetime() -> None:
    world = make_world(MemoryStore())
    links = MemoryLinks()
    world.service.sign_in = links.on(world.clock)
    reply = await world.service.execute(parse("web"), context("local:alice", Origin.TEAM))
    token = LINK.search(world.chat.render(reply.lines[0]))
    assert token is not None
    world.clock.advance(minutes=11)
    assert await links.on(world.clock).redeem(token.group(1)) is None


async def test_a_bound_person_signs_in_under_their_one_id() -> None:
    world = make_world(MemoryStore())
    links = MemoryLinks()
    world.service.rules = Rules(people={"telegram:101": "slack:U1"})
    world.service.sign_in = links.on(world.clock)
    await world.service.execute(parse("web"), context("telegram:101", Origin.MEMBER))
    assert [person for person, _until in links.links.values()] == ["slack:U1"]


async def test_an_outsider_gets_no_link() -> None:
    world = make_world(MemoryStore())
    links = MemoryLinks()
    world.service.sign_in = links.on(world.clock)
    with pytest.raises(Forbidden) as refused:
        await world.service.execute(parse("web"), context("telegram:666", Origin.OUTSIDER))
    assert refused.value.text == access.OUTSIDER
    assert links.links == {}


def test_a_sign_in_token_is_redacted_from_log_lines() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET",
                                                           "/signin/Ab-3_xYz", "1.1", 303),
                               None)
    Redactor().filter(record)
    assert record.getMessage() == f'127.0.0.1:5000 - "GET /signin/{MASK} HTTP/1.1" 303'
