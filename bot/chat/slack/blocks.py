"""Slack Block Kit for crisisbot: channel names, message sections and draft cards with their
buttons."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.chat.slack.api import slack_unescape
from bot.core.models import Draft, DraftState, Incident
from bot.core.text import Text, _
from bot.core.views import space_name

APPROVE_ACTION, REJECT_ACTION, REJECT_VIEW = "crisis_approve", "crisis_reject", "crisis_reject"
PUBLISH_ACTION = "crisis_publish"
SECTION_LIMIT = 3000
"""Slack's limit for the text of one section block."""


def channel_name(pattern: str, incident: Incident) -> str:
    """A channel name by Slack's rules: lowercase letters, digits, `-` and `_`, at most 80."""
    name = space_name(incident, pattern, ascii_only=True).lower()
    name = re.sub(r"[^a-z0-9_-]+", "-", name)
    return re.sub(r"-{2,}", "-", name)[:80].strip("-") or f"crisis-{incident.number}"


def numbered(base: str, n: int) -> str:
    suffix = f"-{n}"
    return base[:80 - len(suffix)].rstrip("-") + suffix

def _chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split text by lines (a line itself by force) into pieces of at most `limit`."""
    pieces: list[str] = []
    current = ""
    for whole in text.splitlines():
        for line in [whole[i:i + limit] for i in range(0, len(whole), limit)] or [""]:
            if current and len(current) + 1 + len(line) > limit:
                pieces.append(current)
                current = line
            else:
                current = f"{current}\n{line}" if current else line
    if current.strip():
        pieces.append(current)
    return pieces


def sections(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in _chunks(text)[:50]]


def draft_blocks(lines: Sequence[str], draft: Draft, render: Callable[[Text], str], *,
                 publish: bool = False) -> list[dict[str, Any]]:
    """A draft card: the heading in bold, the statement and its approvals as the core words
    them (`views.draft_lines`), and Approve / Reject buttons while a decision is due."""
    head, *body = lines
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head[:SECTION_LIMIT - 2]}*"}},
        *sections("\n".join(body))[:45],
    ]
    if draft.state is DraftState.PENDING:
        value = f"{draft.incident}:{draft.number}:{draft.version}"
        blocks.append({"type": "actions", "block_id": "decide", "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Approve")))}},
            {"type": "button", "action_id": REJECT_ACTION, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Reject")))}},
        ]})
    if publish and draft.state is DraftState.APPROVED and draft.current.published_at is None:
        blocks.append({"type": "actions", "block_id": "publish", "elements": [
            {"type": "button", "action_id": PUBLISH_ACTION, "style": "primary",
             "value": f"{draft.incident}:{draft.number}:{draft.version}",
             "text": {"type": "plain_text", "text": slack_unescape(render(_("Publish")))}}]})
    return blocks

