"""Slack markup injection: what alerts and people write is escaped (`&`, `<`, `>`) wherever it
is shown — message text, Block Kit sections, topic, purpose, ephemeral answers — while the bot's
own mentions stay real `<@U…>` mentions."""

from __future__ import annotations

import json
from pathlib import Path

from bot.chat.slack.api import slack_escape, slack_mention, slack_unescape
from bot.core.text import Joined, Lines, Localized, Prefixed, Raw, Who, _
from bot.i18n import renderer
from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import start, until

EVIL = "<!channel> <https://evil.example|login> & more"
ESCAPED = "&lt;!channel&gt; &lt;https://evil.example|login&gt; &amp; more"


def test_renderer_escapes_values_and_template_but_not_mentions() -> None:
    render = renderer("en", slack_mention, slack_escape)
    text = _("{who} said {what}{why} to {all} in {room}; {tasks} <b>",
             who=Who("slack:U0AUT"), what=EVIL, why=Prefixed(": ", "<!here>"),
             all=Joined((Who("slack:U0AP1"), "<@U0FAKE>")), room=Raw("<#C0123>"),
             tasks=Lines((Localized.of({"en": "a<b"}), _("{x}", x="c&d"))))
    shown = render(text)
    assert shown == (f"<@U0AUT> said {ESCAPED}: &lt;!here&gt; to <@U0AP1>, &lt;@U0FAKE&gt; in "
                     "<#C0123>; a&lt;b\nc&amp;d &lt;b&gt;")
    assert slack_unescape(shown).startswith(f"<@U0AUT> said {EVIL}")
    # Other platforms' people and odd handles cannot smuggle markup either.
    assert slack_mention(Who("telegram:<!channel>")) == "@&lt;!channel&gt;"
    assert slack_mention(Who("slack:<!channel>")) == "@&lt;!channel&gt;"
    # Renderers without an escape (Telegram, local) are unchanged.
    assert renderer("en")(_("{x}", x=EVIL)) == EVIL


def shown_to_slack(fake: FakeSlack) -> list[str]:
    """Every text the bot sent for people to read: posts, edits, blocks, topic, purpose."""
    out: list[str] = []
    for method, args in fake.calls:
        if method in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
            out.append(str(args.get("text", "")))
            out.append(json.dumps(args.get("blocks") or [], ensure_ascii=False))
        elif method == "conversations.setTopic":
            out.append(str(args["topic"]))
        elif method == "conversations.setPurpose":
            out.append(str(args["purpose"]))
    out.extend(str(r.get("text", "")) for r in fake.responses)
    return out


async def test_an_alert_cannot_ping_the_channel_or_forge_links(tmp_path: Path,
                                                               fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        assert (await bot.alert("<!channel> <https://evil.example|login>",
                                severity="high")).status_code == 200
        room = (await until(lambda: [c for c in fake.channels.values()
                                     if c.name.startswith("crisis-1-")]))[0]
        await until(lambda: room.pins)
        summary = room.messages[0]
        assert summary.text.startswith(
            "INC-1: &lt;!channel&gt; &lt;https://evil.example|login&gt;")
        # A status update and a draft quoting markup are escaped too; `&amp;` from Slack's
        # own escaping of the command text is not escaped twice.
        for text in ["ack", "role <@U0AUT> spokesperson",
                     "status investigating <!here> &amp; <https://x.example|y>"]:
            answered = len(fake.responses)
            await bot.command("U0CMD", text, room.id)
            await until(lambda answered=answered: len(fake.responses) > answered)
        await bot.command("U0AUT", "draft Call <!everyone> now &lt;3", room.id)
        card = (await until(lambda: [m for m in room.messages
                                     if m.text.startswith("Draft #")]))[0]
        assert "Call &lt;!everyone&gt; now &lt;3" in card.text
        section = next(b for b in card.blocks or [] if b["type"] == "section"
                       and "everyone" in b["text"]["text"])
        assert "&lt;!everyone&gt;" in section["text"]["text"]
        update = await until(lambda: [m for m in room.messages if "investigating" in m.text])
        assert "investigating &lt;!here&gt; &amp; &lt;https://x.example|y&gt;" in update[0].text
        # The bot's own mentions are still mentions.
        await until(lambda: "<@U0AUT>" in summary.text)
        assert "<@U0CMD>" in summary.text
        sent = shown_to_slack(fake)
        for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://", "&amp;amp;",
                    "&amp;lt;"):
            assert not [s for s in sent if raw in s], raw
        assert any(ESCAPED.split(" &amp;")[0] in s for s in sent)
        assert "&lt;!channel&gt;" in room.topic
        assert "&lt;!channel&gt;" in room.purpose
    finally:
        await bot.stop()


