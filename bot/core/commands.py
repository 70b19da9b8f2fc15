"""`/crisis ...` text -> typed commands, shared by every platform: the commands and the parser of
each one's words; `bot.core.command_registry` names them, documents them and runs them.

The parser knows the words, not the platform: the adapter hands it its way of reading a
mention (`<@U123>` on Slack: `bot.chat.slack_syntax`), and mentions come back as `Mention`s
that the adapter turns into people; `@name` and a numeric id (Telegram, the local chat) are
read everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.errors import Invalid
from bot.core.models import CrisisKind, Severity, Status, bounded, parse_public_id
from bot.core.rules import kind_from_hint, quoted
from bot.core.text import LANGUAGES, Joined, Text, _

_WORD = re.compile(r"\S+")
_AT_NAME = re.compile(r"^@([\w.\-]{1,64})$")
_NUMERIC = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class Mention:
    """Someone named in a command: a platform user id, or a @username to look up."""

    value: str
    is_username: bool = False

    def person(self, platform: str) -> str:
        return f"{platform}:{'@' if self.is_username else ''}{self.value}"


MentionSyntax = Callable[[str], Mention | None]
"""A platform's way of reading one word as a mention (None: not a mention)."""


def parse_mention(token: str) -> Mention | None:
    """The neutral reading: `@name` is a username, a number a platform user id."""
    if match := _AT_NAME.match(token):
        return Mention(match.group(1), is_username=True)
    if _NUMERIC.match(token):
        return Mention(token)
    return None


class Word(str):
    """One word of a command, knowing where it stands in the text as typed, so the free text
    after a command's flags keeps its lines (`_text`). Each word shares the one text: a copy
    of the rest per word would take hundreds of MB for a long message of short words."""

    text: str
    start: int

    def __new__(cls, word: str, text: str, start: int) -> Word:
        self = super().__new__(cls, word)
        self.text, self.start = text, start
        return self

    @property
    def tail(self) -> str:
        """The text from this word to the end, as typed."""
        return self.text[self.start:]


@dataclass(frozen=True)
class Declare:
    title: str
    severity: Severity | None = None
    kind: CrisisKind | None = None


@dataclass(frozen=True)
class Ack:
    pass


@dataclass(frozen=True)
class AssignRole:
    person: Mention
    role: str
    remove: bool = False


@dataclass(frozen=True)
class SetSeverity:
    severity: Severity


@dataclass(frozen=True)
class StatusUpdate:
    text: str
    status: Status | None = None


@dataclass(frozen=True)
class PostDraft:
    text: str
    target: str | None = None


@dataclass(frozen=True)
class ReviseDraft:
    draft: int
    text: str
    version: int | None = None
    """The version a page showed when its Revise form was filled: a newer one is refused."""


@dataclass(frozen=True)
class Approve:
    draft: int | None = None


@dataclass(frozen=True)
class Publish:
    """Publish the current approved version of a draft (the latest approved one unpublished
    at that version, when no number is given), to `to` or every configured destination."""

    draft: int | None = None
    to: tuple[str, ...] = ()
    title: str | None = None


@dataclass(frozen=True)
class Reject:
    reason: str
    draft: int | None = None


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class ShowTimeline:
    pass


@dataclass(frozen=True)
class ShowRoles:
    pass


@dataclass(frozen=True)
class Resolve:
    summary: str = ""


@dataclass(frozen=True)
class Reopen:
    pass


@dataclass(frozen=True)
class ShowReport:
    pass


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class ShowTasks:
    pass


@dataclass(frozen=True)
class TaskDone:
    task: int
    done: bool = True


@dataclass(frozen=True)
class TaskAssign:
    task: int
    person: Mention


@dataclass(frozen=True)
class SetLanguage:
    language: str | None
    """None goes back to the team's default language."""


@dataclass(frozen=True)
class Lesson:
    text: str


@dataclass(frozen=True)
class PostTemplate:
    name: str
    target: str | None = None


@dataclass(frozen=True)
class ShowTemplates:
    pass


@dataclass(frozen=True)
class StartDrill:
    kind: CrisisKind


@dataclass(frozen=True)
class WebSignIn:
    """A one-time link that signs the sender in to the web console (sent to them privately)."""


Action = (
    Declare | Ack | AssignRole | SetSeverity | StatusUpdate | PostDraft | ReviseDraft | Approve
    | Reject | Note | ShowTimeline | ShowRoles | Resolve | Reopen | ShowReport | Help
    | ShowTasks | TaskDone | TaskAssign | SetLanguage | Lesson | PostTemplate | ShowTemplates
    | StartDrill | Publish | WebSignIn
)


@dataclass(frozen=True)
class Command:
    """A parsed command: what to do and, when the text named one, which incident."""

    action: Action
    incident: int | None = None


def parse(text: str, mention: MentionSyntax = parse_mention) -> Command:
    """Parse the text after `/crisis` (or the whole `/crisis ...` line), reading mentions with
    the platform's `mention`; raise `Invalid` if bad."""
    from bot.core.command_registry import REGISTRY  # the registry is built on this module

    words: list[str] = [Word(m.group(), text, m.start()) for m in _WORD.finditer(text)]
    if words and words[0].lower().lstrip("/").split("@")[0] in {"crisis"}:
        words = words[1:]
    if not words:
        return Command(Help())
    verb, rest = words[0].lower(), words[1:]
    incident = None
    if rest and (number := parse_public_id(rest[0])) is not None:
        incident, rest = number, rest[1:]
    entry = REGISTRY.entry_for(verb, rest[0].lower() if rest else None)
    if entry is None:
        raise Invalid(
            _(
                "Unknown command “{verb}”. Try “/crisis help” for the list.",
                verb=quoted(verb),
            )
        )
    return Command(entry.parse(rest, mention), incident)


def parse_declare(rest: list[str], mention: MentionSyntax) -> Declare:
    severity: Severity | None = None
    kind: CrisisKind | None = None
    while rest:
        head = rest[0]
        if severity is None and head.upper() in Severity.__members__:
            severity = Severity(head.upper())
        elif kind is None and head.lower().startswith("kind:"):
            kind = kind_from_hint(head[5:])
            if kind is None:
                raise Invalid(
                    _(
                        "Unknown crisis kind “{kind}”. Kinds: {kinds}.",
                        kind=quoted(head[5:]),
                        kinds=Joined(k.value for k in CrisisKind),
                    )
                )
        else:
            break
        rest = rest[1:]
    title = _need(rest, _("Give the incident a title: /crisis declare <title>"))
    return Declare(" ".join(title.split()), severity, kind)


def parse_ack(rest: list[str], mention: MentionSyntax) -> Ack:
    return Ack()


def parse_role(rest: list[str], mention: MentionSyntax) -> AssignRole:
    remove = bool(rest) and rest[0].lower() in {"remove", "rm", "unassign"}
    if remove:
        rest = rest[1:]
    usage = _("Usage: /crisis role <@person> <role> (or /crisis role remove <@person> <role>)")
    if len(rest) < 2:
        raise Invalid(usage)
    first, last = mention(rest[0]), mention(rest[-1])
    if first is not None:  # a role's name may be several words ("официальный представитель")
        return AssignRole(first, " ".join(rest[1:]).lower(), remove)
    if last is not None:
        return AssignRole(last, " ".join(rest[:-1]).lower(), remove)
    raise Invalid(usage)


def parse_severity(rest: list[str], mention: MentionSyntax) -> SetSeverity:
    if len(rest) != 1 or rest[0].upper() not in Severity.__members__:
        raise Invalid(_("Usage: /crisis severity SEV1|SEV2|SEV3|SEV4"))
    return SetSeverity(Severity(rest[0].upper()))


def parse_status(rest: list[str], mention: MentionSyntax) -> StatusUpdate:
    status = None
    if rest and rest[0].lower() in {Status.RESPONDING, Status.MONITORING}:
        status, rest = Status(rest[0].lower()), rest[1:]
    if status is None and not rest:
        raise Invalid(_("Write the update: /crisis status [responding|monitoring] <text>"))
    return StatusUpdate(_text(rest), status)


def parse_draft(rest: list[str], mention: MentionSyntax) -> PostDraft:
    target = None
    if rest and rest[0].lower().startswith("to:") and len(rest[0]) > 3:
        target, rest = rest[0][3:], rest[1:]
    return PostDraft(_need(rest, _("Write the statement: /crisis draft <text>")), target)


def parse_revise(rest: list[str], mention: MentionSyntax) -> ReviseDraft:
    """`revise <n> <text>` (after `draft`)."""
    number = _number(rest[1]) if len(rest) >= 3 else None
    if number is None:
        raise Invalid(_("Usage: /crisis draft revise <n> <new text>"))
    return ReviseDraft(number, _text(rest[2:]))


def _draft_number(rest: list[str]) -> tuple[int | None, list[str]]:
    number = _number(rest[0]) if rest else None
    return (number, rest[1:]) if number is not None else (None, rest)


def _number(word: str) -> int | None:
    """`7` or `#7` -> 7; not a number -> None; a number too large for any -> `Invalid`."""
    digits = word.lstrip("#")
    return bounded(digits, word) if digits.isdecimal() else None


def parse_approve(rest: list[str], mention: MentionSyntax) -> Approve:
    number, rest = _draft_number(rest)
    if rest:
        raise Invalid(_("Usage: /crisis approve [draft number]"))
    return Approve(number)


def parse_publish(rest: list[str], mention: MentionSyntax) -> Publish:
    number, rest = _draft_number(rest)
    to: tuple[str, ...] = ()
    if rest and rest[0].lower().startswith("to:"):
        to = tuple(d for d in rest[0][3:].lower().split(",") if d)
        if not to:
            raise Invalid(_("Usage: /crisis publish [draft number] [to:<destination>] "
                            "[public title]"))
        rest = rest[1:]
    return Publish(number, to, " ".join(rest) or None)


def parse_reject(rest: list[str], mention: MentionSyntax) -> Reject:
    number, rest = _draft_number(rest)
    reason = _need(rest, _("Say why: /crisis reject [draft number] <reason>"))
    return Reject(reason, number)


def parse_note(rest: list[str], mention: MentionSyntax) -> Note:
    return Note(_need(rest, _("Write the note: /crisis note <text>")))


def parse_resolve(rest: list[str], mention: MentionSyntax) -> Resolve:
    return Resolve(_text(rest))


def _need(rest: list[str], usage: Text) -> str:
    if not rest:
        raise Invalid(usage)
    return _text(rest)


def _text(rest: list[str]) -> str:
    """The words from `rest[0]` to the end, as typed: runs of spaces tidied, lines kept (a
    statement's paragraphs are the team's words)."""
    if not rest:
        return ""
    tail = rest[0].tail if isinstance(rest[0], Word) else " ".join(rest)
    return "\n".join(" ".join(line.split()) for line in tail.strip().splitlines())


def parse_timeline(rest: list[str], mention: MentionSyntax) -> ShowTimeline:
    return ShowTimeline()


def parse_roles(rest: list[str], mention: MentionSyntax) -> ShowRoles:
    return ShowRoles()


def parse_reopen(rest: list[str], mention: MentionSyntax) -> Reopen:
    return Reopen()


def parse_report(rest: list[str], mention: MentionSyntax) -> ShowReport:
    return ShowReport()


def parse_help(rest: list[str], mention: MentionSyntax) -> Help:
    return Help(rest[0].lower() if rest else None)


def parse_template(rest: list[str], mention: MentionSyntax) -> PostTemplate:
    """`template <name> [to:<target>]` (after `draft`)."""
    rest = rest[1:]
    target = None
    if rest and rest[0].lower().startswith("to:") and len(rest[0]) > 3:
        target, rest = rest[0][3:], rest[1:]
    if len(rest) == 2 and rest[1].lower().startswith("to:") and len(rest[1]) > 3:
        target, rest = rest[1][3:], rest[:1]
    if len(rest) != 1:
        raise Invalid(_("Usage: /crisis draft template <name> [to:<target>]; "
                        "“/crisis templates” lists the names."))
    return PostTemplate(rest[0].lower(), target)


def _task_usage() -> Invalid:
    return Invalid(_("Usage: /crisis task, /crisis task done <n>, /crisis task undo <n>, "
                     "/crisis task assign <n> <@person>"))


def parse_tasks(rest: list[str], mention: MentionSyntax) -> ShowTasks:
    if rest:
        raise _task_usage()
    return ShowTasks()


def _task_number(rest: list[str]) -> int | None:
    """The `<n>` after `task done|undo|assign`."""
    return _number(rest[1]) if len(rest) >= 2 else None


def parse_task_done(rest: list[str], mention: MentionSyntax) -> TaskDone:
    """`done <n>` or `undo <n>` (after `task`)."""
    number = _task_number(rest)
    if number is None or len(rest) != 2:
        raise _task_usage()
    return TaskDone(number, done=rest[0].lower() == "done")


def parse_task_assign(rest: list[str], mention: MentionSyntax) -> TaskAssign:
    """`assign <n> <@person>` (after `task`)."""
    number = _task_number(rest)
    person = mention(rest[2]) if number is not None and len(rest) == 3 else None
    if number is None or person is None:
        raise _task_usage()
    return TaskAssign(number, person)


def parse_lang(rest: list[str], mention: MentionSyntax) -> SetLanguage:
    if len(rest) != 1 or rest[0].lower() not in {*LANGUAGES, "default"}:
        raise Invalid(_("Usage: /crisis lang {languages}|default",
                        languages="|".join(LANGUAGES)))
    value = rest[0].lower()
    return SetLanguage(None if value == "default" else value)


def parse_lesson(rest: list[str], mention: MentionSyntax) -> Lesson:
    return Lesson(_need(rest, _("Write the lesson: /crisis lesson <text>")))


def parse_templates(rest: list[str], mention: MentionSyntax) -> ShowTemplates:
    return ShowTemplates()


def parse_drill(rest: list[str], mention: MentionSyntax) -> StartDrill:
    kind = kind_from_hint(rest[0]) if len(rest) == 1 else None
    if kind is None:
        raise Invalid(_("Usage: /crisis drill <kind>. Kinds: {kinds}.",
                        kinds=Joined(k.value for k in CrisisKind)))
    return StartDrill(kind)


def parse_web(rest: list[str], mention: MentionSyntax) -> WebSignIn:
    if rest:
        raise Invalid(_("Usage: /crisis web"))
    return WebSignIn()
