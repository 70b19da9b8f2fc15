"""What the console's HTTP tests do as a browser: read a page's CSRF token, and follow a
sign-in link (the console's, Slack's `/crisis web`, Telegram's direct message) once."""

from __future__ import annotations

import re

import httpx


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" (?:value|content)="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def signs_in_once(browser: httpx.AsyncClient, link: str, person: str) -> None:
    """The link's page signs `browser` in as `person`; pressing it again is refused (410)."""
    page = await browser.get(link)
    assert page.status_code == 200
    signed = await browser.post(link, data={"csrf": csrf_of(page.text)})
    assert signed.status_code == 303
    home = await browser.get("/")
    assert home.status_code == 200
    assert f"Signed in as {person}" in home.text
    again = await browser.post(link, data={"csrf": csrf_of(home.text)})
    assert again.status_code == 410
