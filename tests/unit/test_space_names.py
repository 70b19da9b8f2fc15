"""Channel and topic names come from one pattern; Slack's ASCII-only rules apply on top."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat.slack.blocks import channel_name
from bot.core.models import CrisisKind, Incident, Severity, Status
from bot.core.views import space_name


def incident(title: str, number: int = 7) -> Incident:
    return Incident(number, title, CrisisKind.DISINFORMATION, Severity.SEV2, Status.TRIGGERED,
                    datetime(2026, 1, 1, tzinfo=UTC), "local:alice")


def test_topics_keep_any_script() -> None:
    assert space_name(incident("Фейк о отзыве йогурта")) == "crisis-7-фейк-о-отзыве-йогурта"
    assert space_name(incident("!!!")) == "crisis-7-incident"


def test_slack_channels_fold_accents_and_drop_other_scripts() -> None:
    assert channel_name("crisis-{number}-{slug}", incident("Café Déjà Vu!")) == \
        "crisis-7-cafe-deja-vu"
    assert channel_name("crisis-{number}-{slug}", incident("Фейк")) == "crisis-7-incident"
    assert channel_name("{severity}-{kind}-{number}", incident("x")) == \
        "sev2-disinformation-7"
    long = channel_name("crisis-{number}-{slug}", incident("word " * 40))
    assert len(long) <= 80
    assert not long.endswith("-")
