"""`/crisis ...` text -> typed commands."""

from __future__ import annotations

import tracemalloc

import pytest

from bot.chat.slack_syntax import read_mention
from bot.core import commands as c
from bot.core.commands import Mention, parse, parse_mention
from bot.core.errors import Invalid
from bot.core.models import CrisisKind, Severity, Status


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("declare Fake quote spreading", c.Declare("Fake quote spreading")),
        ("declare SEV1 Data leak", c.Declare("Data leak", Severity.SEV1)),
        ("declare sev2 kind:data_breach Leak", c.Declare("Leak", Severity.SEV2,
                                                         CrisisKind.DATA_BREACH)),
        ("declare kind:data-breach SEV4 Leak", c.Declare("Leak", Severity.SEV4,
                                                         CrisisKind.DATA_BREACH)),
        ("ack", c.Ack()),
        ("acknowledge", c.Ack()),
        ("severity sev1", c.SetSeverity(Severity.SEV1)),
        ("sev SEV4", c.SetSeverity(Severity.SEV4)),
        ("status Still looking", c.StatusUpdate("Still looking")),
        ("status responding Team on it", c.StatusUpdate("Team on it", Status.RESPONDING)),
        ("status MONITORING", c.StatusUpdate("", Status.MONITORING)),
        ("update quiet now", c.StatusUpdate("quiet now")),
        ("draft We are aware.", c.PostDraft("We are aware.")),
        ("draft to:@troll42 Thanks for flagging", c.PostDraft("Thanks for flagging", "@troll42")),
        ("draft to:https://x.com/p/1 We hear you", c.PostDraft("We hear you",
                                                               "https://x.com/p/1")),
        ("draft revise 2 Better words", c.ReviseDraft(2, "Better words")),
        ("draft revise #3 Better words", c.ReviseDraft(3, "Better words")),
        ("approve", c.Approve()),
        ("approve 2", c.Approve(2)),
        ("approve #2", c.Approve(2)),
        ("reject Tone is wrong", c.Reject("Tone is wrong")),
        ("reject 3 Tone is wrong", c.Reject("Tone is wrong", 3)),
        ("note Called the CEO", c.Note("Called the CEO")),
        ("timeline", c.ShowTimeline()),
        ("resolve", c.Resolve("")),
        ("resolve All clear now", c.Resolve("All clear now")),
        ("reopen", c.Reopen()),
        ("report", c.ShowReport()),
        ("help", c.Help()),
        ("help Draft", c.Help("draft")),
    ],
)
def test_every_verb(text: str, action: c.Action) -> None:
    assert parse(text) == c.Command(action)


@pytest.mark.parametrize("text", ["", "   ", "/crisis", "crisis", "/crisis@CrisisBot"])
def test_empty_is_help(text: str) -> None:
    assert parse(text) == c.Command(c.Help())


@pytest.mark.parametrize(
    "text",
    [
        "/crisis approve 2",
        "/CRISIS approve 2",
        "/crisis@CrisisBot approve 2",
        "crisis approve 2",
        "  approve   2  ",
    ],
)
def test_prefixes(text: str) -> None:
    assert parse(text) == c.Command(c.Approve(2))


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("ack INC-7", c.Command(c.Ack(), 7)),
        ("ack inc-12", c.Command(c.Ack(), 12)),
        ("/crisis approve INC-3 2", c.Command(c.Approve(2), 3)),
        ("reject INC-3 #2 too long", c.Command(c.Reject("too long", 2), 3)),
        ("status INC-5 monitoring calm", c.Command(c.StatusUpdate("calm", Status.MONITORING), 5)),
        ("role INC-9 @alice legal", c.Command(c.AssignRole(Mention("alice", True), "legal"), 9)),
        ("resolve INC-2 done", c.Command(c.Resolve("done"), 2)),
    ],
)
def test_incident_selector(text: str, command: c.Command) -> None:
    assert parse(text) == command


def test_selector_only_in_first_argument_position() -> None:
    # INC-7 later in a note is text, not a selector
    assert parse("note see INC-7") == c.Command(c.Note("see INC-7"))
    # INC-x without digits is not a selector
    assert parse("note INC-x text") == c.Command(c.Note("INC-x text"))


@pytest.mark.parametrize(
    ("token", "mention"),
    [
        ("<@U024BE7LH>", None),
        ("@alice", Mention("alice", is_username=True)),
        ("@a.b-c_d", Mention("a.b-c_d", is_username=True)),
        ("93372553", Mention("93372553")),
        ("alice", None),
        ("<@u123>", None),
        ("@", None),
        ("12ab", None),
    ],
)
def test_parse_mention(token: str, mention: Mention | None) -> None:
    assert parse_mention(token) == mention


@pytest.mark.parametrize(
    ("token", "mention"),
    [
        ("<@U024BE7LH>", Mention("U024BE7LH")),
        ("<@U024BE7LH|bob>", Mention("U024BE7LH")),
        ("<@u123>", None),
        ("@alice", Mention("alice", is_username=True)),
        ("93372553", Mention("93372553")),
    ],
)
def test_slack_reads_its_own_mentions_and_the_neutral_ones(token: str,
                                                           mention: Mention | None) -> None:
    assert read_mention(token) == mention


def test_mention_person_ids() -> None:
    assert Mention("U1").person("slack") == "slack:U1"
    assert Mention("alice", is_username=True).person("telegram") == "telegram:@alice"


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("role <@U123> commander", c.AssignRole(Mention("U123"), "commander")),
        ("role commander <@U123>", c.AssignRole(Mention("U123"), "commander")),
        ("role <@U123|bob> Legal", c.AssignRole(Mention("U123"), "legal")),
        ("role @alice approver", c.AssignRole(Mention("alice", True), "approver")),
        ("role approver @alice", c.AssignRole(Mention("alice", True), "approver")),
        ("role @alice Официальный  представитель",
         c.AssignRole(Mention("alice", True), "официальный представитель")),
        ("role سخنگو @alice", c.AssignRole(Mention("alice", True), "سخنگو")),
        ("role 93372553 spokesperson", c.AssignRole(Mention("93372553"), "spokesperson")),
        ("role spokesperson 93372553", c.AssignRole(Mention("93372553"), "spokesperson")),
        ("role remove @alice approver", c.AssignRole(Mention("alice", True), "approver", True)),
        ("role rm approver <@U1>", c.AssignRole(Mention("U1"), "approver", True)),
        ("role unassign @bob legal", c.AssignRole(Mention("bob", True), "legal", True)),
    ],
)
def test_role(text: str, action: c.AssignRole) -> None:
    assert parse(text, read_mention) == c.Command(action)


def test_the_core_alone_does_not_read_slack_mentions() -> None:
    with pytest.raises(Invalid, match="Usage: /crisis role"):
        parse("role <@U123> commander")
    assert parse("task assign 1 <@U9>", read_mention) == c.Command(c.TaskAssign(1, Mention("U9")))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("frobnicate now", "Unknown command “frobnicate”"),
        ("declare", "Give the incident a title"),
        ("declare SEV1", "Give the incident a title"),
        ("declare SEV1 kind:trolling", "Give the incident a title"),
        ("declare kind:aliens Invasion", "Unknown crisis kind “aliens”"),
        ("severity SEV5", "Usage: /crisis severity SEV1|SEV2|SEV3|SEV4"),
        ("severity", "Usage: /crisis severity"),
        ("severity SEV1 SEV2", "Usage: /crisis severity"),
        ("status", "Write the update"),
        ("draft", "Write the statement"),
        ("draft to:someone", "Write the statement"),
        ("draft revise", "Usage: /crisis draft revise"),
        ("draft revise 2", "Usage: /crisis draft revise"),
        ("draft revise two new text", "Usage: /crisis draft revise"),
        ("approve 2 please", "Usage: /crisis approve"),
        ("approve now", "Usage: /crisis approve"),
        ("reject", "Say why"),
        ("reject 2", "Say why"),
        ("note", "Write the note"),
        ("role @alice", "Usage: /crisis role"),
        ("role alice approver", "Usage: /crisis role"),
        ("role remove @alice", "Usage: /crisis role"),
    ],
)
def test_malformed_input_is_invalid_with_help(text: str, fragment: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse(text)
    assert fragment in str(caught.value)


def test_unknown_verb_points_to_help() -> None:
    with pytest.raises(Invalid, match="/crisis help"):
        parse("/crisis launch")


def test_bad_kind_lists_the_kinds() -> None:
    with pytest.raises(Invalid) as caught:
        parse("declare kind:meteor Big rock")
    message = str(caught.value)
    for kind in CrisisKind:
        assert kind.value in message


def test_declare_title_keeps_later_flags_as_text() -> None:
    # only leading words are flags; the rest is the title verbatim
    assert parse("declare SEV2 Outage SEV1 kind:other") == c.Command(
        c.Declare("Outage SEV1 kind:other", Severity.SEV2))


def test_draft_keeps_text_words() -> None:
    assert parse("draft  We   are aware ") == c.Command(c.PostDraft("We are aware"))
    # "to:" alone is not a target
    assert parse("draft to: the public") == c.Command(c.PostDraft("to: the public"))


HUGE = "9" * 40


@pytest.mark.parametrize("text", [f"ack INC-{HUGE}", f"approve {HUGE}", f"approve #{HUGE}",
                                  f"draft revise {HUGE} new text", f"task done {HUGE}",
                                  f"publish INC-{'9' * 5000}", "reject 2147483648 no"])
def test_numbers_no_store_can_hold_are_refused_readably(text: str) -> None:
    with pytest.raises(Invalid, match="as large as"):
        parse(text)


def test_the_largest_number_still_parses() -> None:
    assert parse("ack INC-2147483647").incident == 2147483647
    assert parse("approve 0002147483647").action == c.Approve(2147483647)


@pytest.mark.parametrize("text", ["x" * 5000, "declare kind:" + "q" * 3000 + " Big rock",
                                  "ack\x00" + "y" * 100])
def test_a_refusal_quotes_a_long_or_odd_word_shortened_on_one_line(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse(text)
    message = str(caught.value)
    assert len(message) < 300, message
    assert message.isprintable(), message


STATEMENT = "We know checkout fails.\n\nNo data   was lost;\nnext update at 14:00."
KEPT = "We know checkout fails.\n\nNo data was lost;\nnext update at 14:00."


@pytest.mark.parametrize(("text", "action"), [
    (f"draft {STATEMENT}", c.PostDraft(KEPT)),
    (f"draft to:press {STATEMENT}\n", c.PostDraft(KEPT, "press")),
    (f"draft revise 2 {STATEMENT}", c.ReviseDraft(2, KEPT)),
    (f"status monitoring {STATEMENT}", c.StatusUpdate(KEPT, Status.MONITORING)),
    (f"note {STATEMENT}", c.Note(KEPT)),
    (f"reject 3 {STATEMENT}", c.Reject(KEPT, 3)),
    (f"lesson {STATEMENT}", c.Lesson(KEPT)),
    (f"resolve {STATEMENT}", c.Resolve(KEPT)),
    (f"declare SEV2 {STATEMENT}", c.Declare(" ".join(STATEMENT.split()), Severity.SEV2)),
])
def test_free_text_keeps_its_lines(text: str, action: c.Action) -> None:
    """A statement's paragraphs are the team's words: typed on several lines (Telegram,
    Slack's Shift+Enter) they stay on several lines; only runs of spaces are tidied. A title
    is one line."""
    assert parse(text).action == action


def test_a_long_message_of_short_words_is_parsed_in_little_memory() -> None:
    """Slack allows 40,000 characters: as 20,000 one-letter words, a copy of the rest of the
    text for each word took about 400 MB."""
    tracemalloc.start()
    try:
        action = parse("note " + "a " * 20_000).action
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert action == c.Note(" ".join(["a"] * 20_000))
    assert peak < 20_000_000, f"{peak / 1e6:.0f} MB"
