"""`/crisis ...` text -> typed commands, shared by every platform.

The parser knows the words, not the platform: mentions come back as `Mention`s that the adapter
turns into people (`<@U123>` on Slack, `@name` or a numeric id on Telegram).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.errors import Invalid
from bot.core.models import CrisisKind, Severity, Status, bounded, parse_public_id
from bot.core.rules import kind_from_hint
from bot.core.text import LANGUAGES, Joined, Text, _

_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$")
_AT_NAME = re.compile(r"^@([\w.\-]{1,64})$")
_NUMERIC = re.compile(r"^\d{1,20}$")


@dataclass(frozen=True)
class Mention:
    """Someone named in a command: a platform user id, or a @username to look up."""

    value: str
    is_username: bool = False

    def person(self, platform: str) -> str:
        return f"{platform}:{'@' if self.is_username else ''}{self.value}"


def parse_mention(token: str) -> Mention | None:
    if match := _SLACK_MENTION.match(token):
        return Mention(match.group(1))
    if match := _AT_NAME.match(token):
        return Mention(match.group(1), is_username=True)
    if _NUMERIC.match(token):
        return Mention(token)
    return None


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
    | Reject | Note | ShowTimeline | Resolve | Reopen | ShowReport | Help
    | ShowTasks | TaskDone | TaskAssign | SetLanguage | Lesson | PostTemplate | ShowTemplates
    | StartDrill | Publish | WebSignIn
)


@dataclass(frozen=True)
class Command:
    """A parsed command: what to do and, when the text named one, which incident."""

    action: Action
    incident: int | None = None


HELP: tuple[tuple[Text, Text], ...] = (
    (_("/crisis declare [SEV1-4] [kind:<kind>] <title>"), _("open an incident and its channel")),
    (_("/crisis ack"), _("acknowledge; you become commander if there is none")),
    (_("/crisis role <@person> <role>"), _("give someone a role (“role remove …” takes it back)")),
    (_("/crisis severity SEV1|SEV2|SEV3|SEV4"), _("change the severity")),
    (_("/crisis status [responding|monitoring] <text>"), _("post a status update")),
    (_("/crisis draft [to:<target>] <text>"),
     _("propose a public statement or reply for approval")),
    (_("/crisis draft revise <n> <text>"),
     _("post a new version of draft n (approvals start over)")),
    (_("/crisis approve [n]"), _("approve the latest (or n-th) draft")),
    (_("/crisis reject [n] <reason>"), _("reject a draft, saying why")),
    (_("/crisis publish [n] [to:<destination>] [public title]"),
     _("publish the approved draft n to the status page, channels and webhook")),
    (_("/crisis note <text>"), _("add a note to the timeline")),
    (_("/crisis timeline"), _("show the timeline")),
    (_("/crisis resolve [summary]"), _("resolve the incident")),
    (_("/crisis reopen"), _("reopen a resolved incident")),
    (_("/crisis report"), _("post-incident report")),
    (_("/crisis task [done|undo|assign] <n> [<@person>]"),
     _("the playbook checklist; mark or assign items")),
    (_("/crisis templates"), _("list the statement templates")),
    (_("/crisis draft template <name> [to:<target>]"),
     _("start a draft from a statement template")),
    (_("/crisis lang en|ru|fa|default"), _("the language of this incident's messages and report")),
    (_("/crisis lesson <text>"), _("write down a lesson learned for the report")),
    (_("/crisis drill <kind>"), _("start a training drill with simulated mentions")),
    (_("/crisis web"), _("a one-time link that signs you in to the web console, sent to you "
                         "privately")),
    (_("/crisis help"), _("this list")),
)


def parse(text: str) -> Command:
    """Parse the text after `/crisis` (or the whole `/crisis ...` line); raise `Invalid` if bad."""
    words = text.strip().split()
    if words and words[0].lower().lstrip("/").split("@")[0] in {"crisis"}:
        words = words[1:]
    if not words:
        return Command(Help())
    verb, rest = words[0].lower(), words[1:]
    incident = None
    if rest and (number := parse_public_id(rest[0])) is not None:
        incident, rest = number, rest[1:]
    parser = _PARSERS.get(verb)
    if parser is None:
        raise Invalid(
            _(
                "Unknown command “{verb}”. Try “/crisis help” for the list.",
                verb=verb,
            )
        )
    return Command(parser(rest), incident)


def _declare(rest: list[str]) -> Declare:
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
                        kind=head[5:],
                        kinds=Joined(k.value for k in CrisisKind),
                    )
                )
        else:
            break
        rest = rest[1:]
    return Declare(_need(rest, _("Give the incident a title: /crisis declare <title>")), severity,
                   kind)


def _ack(rest: list[str]) -> Ack:
    return Ack()


def _role(rest: list[str]) -> AssignRole:
    remove = bool(rest) and rest[0].lower() in {"remove", "rm", "unassign"}
    if remove:
        rest = rest[1:]
    usage = _("Usage: /crisis role <@person> <role> (or /crisis role remove <@person> <role>)")
    if len(rest) < 2:
        raise Invalid(usage)
    first, last = parse_mention(rest[0]), parse_mention(rest[-1])
    if first is not None:  # a role's name may be several words ("официальный представитель")
        return AssignRole(first, " ".join(rest[1:]).lower(), remove)
    if last is not None:
        return AssignRole(last, " ".join(rest[:-1]).lower(), remove)
    raise Invalid(usage)


def _severity(rest: list[str]) -> SetSeverity:
    if len(rest) != 1 or rest[0].upper() not in Severity.__members__:
        raise Invalid(_("Usage: /crisis severity SEV1|SEV2|SEV3|SEV4"))
    return SetSeverity(Severity(rest[0].upper()))


def _status(rest: list[str]) -> StatusUpdate:
    status = None
    if rest and rest[0].lower() in {Status.RESPONDING, Status.MONITORING}:
        status, rest = Status(rest[0].lower()), rest[1:]
    if status is None and not rest:
        raise Invalid(_("Write the update: /crisis status [responding|monitoring] <text>"))
    return StatusUpdate(" ".join(rest), status)


def _draft(rest: list[str]) -> PostDraft | ReviseDraft | PostTemplate:
    if rest and rest[0].lower() == "template":
        return _template(rest[1:])
    if rest and rest[0].lower() == "revise":
        number = _number(rest[1]) if len(rest) >= 3 else None
        if number is None:
            raise Invalid(_("Usage: /crisis draft revise <n> <new text>"))
        return ReviseDraft(number, " ".join(rest[2:]))
    target = None
    if rest and rest[0].lower().startswith("to:") and len(rest[0]) > 3:
        target, rest = rest[0][3:], rest[1:]
    return PostDraft(_need(rest, _("Write the statement: /crisis draft <text>")), target)


def _draft_number(rest: list[str]) -> tuple[int | None, list[str]]:
    number = _number(rest[0]) if rest else None
    return (number, rest[1:]) if number is not None else (None, rest)


def _number(word: str) -> int | None:
    """`7` or `#7` -> 7; not a number -> None; a number too large for any -> `Invalid`."""
    digits = word.lstrip("#")
    return bounded(digits, word) if digits.isdecimal() else None


def _approve(rest: list[str]) -> Approve:
    number, rest = _draft_number(rest)
    if rest:
        raise Invalid(_("Usage: /crisis approve [draft number]"))
    return Approve(number)


def _publish(rest: list[str]) -> Publish:
    number, rest = _draft_number(rest)
    to: tuple[str, ...] = ()
    if rest and rest[0].lower().startswith("to:"):
        to = tuple(d for d in rest[0][3:].lower().split(",") if d)
        if not to:
            raise Invalid(_("Usage: /crisis publish [draft number] [to:<destination>] "
                            "[public title]"))
        rest = rest[1:]
    return Publish(number, to, " ".join(rest) or None)


def _reject(rest: list[str]) -> Reject:
    number, rest = _draft_number(rest)
    reason = _need(rest, _("Say why: /crisis reject [draft number] <reason>"))
    return Reject(reason, number)


def _note(rest: list[str]) -> Note:
    return Note(_need(rest, _("Write the note: /crisis note <text>")))


def _resolve(rest: list[str]) -> Resolve:
    return Resolve(" ".join(rest))


def _need(rest: list[str], usage: Text) -> str:
    if not rest:
        raise Invalid(usage)
    return " ".join(rest)


def _timeline(rest: list[str]) -> ShowTimeline:
    return ShowTimeline()


def _reopen(rest: list[str]) -> Reopen:
    return Reopen()


def _report(rest: list[str]) -> ShowReport:
    return ShowReport()


def _help(rest: list[str]) -> Help:
    return Help(rest[0].lower() if rest else None)


def _template(rest: list[str]) -> PostTemplate:
    target = None
    if rest and rest[0].lower().startswith("to:") and len(rest[0]) > 3:
        target, rest = rest[0][3:], rest[1:]
    if len(rest) == 2 and rest[1].lower().startswith("to:") and len(rest[1]) > 3:
        target, rest = rest[1][3:], rest[:1]
    if len(rest) != 1:
        raise Invalid(_("Usage: /crisis draft template <name> [to:<target>]; "
                        "“/crisis templates” lists the names."))
    return PostTemplate(rest[0].lower(), target)


def _task(rest: list[str]) -> ShowTasks | TaskDone | TaskAssign:
    if not rest:
        return ShowTasks()
    verb, rest = rest[0].lower(), rest[1:]
    number = _number(rest[0]) if rest else None
    if verb in {"done", "undo"} and number is not None and len(rest) == 1:
        return TaskDone(number, done=verb == "done")
    if verb == "assign" and number is not None and len(rest) == 2:
        mention = parse_mention(rest[1])
        if mention is not None:
            return TaskAssign(number, mention)
    raise Invalid(_("Usage: /crisis task, /crisis task done <n>, /crisis task undo <n>, "
                    "/crisis task assign <n> <@person>"))


def _lang(rest: list[str]) -> SetLanguage:
    if len(rest) != 1 or rest[0].lower() not in {*LANGUAGES, "default"}:
        raise Invalid(_("Usage: /crisis lang {languages}|default",
                        languages="|".join(LANGUAGES)))
    value = rest[0].lower()
    return SetLanguage(None if value == "default" else value)


def _lesson(rest: list[str]) -> Lesson:
    return Lesson(_need(rest, _("Write the lesson: /crisis lesson <text>")))


def _templates(rest: list[str]) -> ShowTemplates:
    return ShowTemplates()


def _drill(rest: list[str]) -> StartDrill:
    kind = kind_from_hint(rest[0]) if len(rest) == 1 else None
    if kind is None:
        raise Invalid(_("Usage: /crisis drill <kind>. Kinds: {kinds}.",
                        kinds=Joined(k.value for k in CrisisKind)))
    return StartDrill(kind)


def _web(rest: list[str]) -> WebSignIn:
    if rest:
        raise Invalid(_("Usage: /crisis web"))
    return WebSignIn()


_PARSERS: dict[str, Callable[[list[str]], Action]] = {
    "declare": _declare,
    "ack": _ack,
    "acknowledge": _ack,
    "role": _role,
    "severity": _severity,
    "sev": _severity,
    "status": _status,
    "update": _status,
    "draft": _draft,
    "approve": _approve,
    "reject": _reject,
    "publish": _publish,
    "note": _note,
    "timeline": _timeline,
    "resolve": _resolve,
    "reopen": _reopen,
    "report": _report,
    "help": _help,
    "task": _task,
    "tasks": _task,
    "lang": _lang,
    "language": _lang,
    "lesson": _lesson,
    "templates": _templates,
    "drill": _drill,
    "web": _web,
}
