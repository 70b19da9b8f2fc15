"""Every `/crisis` command, once: its names, the parser of its words, its help, who may run it
and its handler. The parser (`commands.parse`), the help, Telegram's command list, the access
table (`access.need`) and `Service.execute` read this table; tests check the README's two
command tables against it. Adding a command: its dataclass in `commands`, its handler in
`command_handlers`, one `Entry` here, and the README's rows.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.core import access
from bot.core import command_handlers as handle
from bot.core import commands as cmd
from bot.core.access import Need
from bot.core.command_handlers import Handler
from bot.core.context import Context, Reply
from bot.core.text import Text, _
from bot.core.views import help_lines

if TYPE_CHECKING:
    from bot.core.service import Service

A = TypeVar("A", bound=cmd.Action)

HelpLine = tuple[Text, Text]
"""(usage, meaning)."""


@dataclass(frozen=True)
class Entry(Generic[A]):
    """One command. Its `names` are how people write it and how the README's tables name it:
    the verb (`task`), or the verb and a sub-command word (`task done`); commands sharing a
    verb are told apart by that second word, and the one named by the verb alone takes the
    rest. The parser reads the words after the verb (and the incident), sub-command included.
    """

    action: type[A]
    names: tuple[str, ...]
    parse: Callable[[list[str], cmd.MentionSyntax], A]
    help: tuple[HelpLine, ...]
    """Lines of `/crisis help`, in order; a verb's lines may all sit with one of its commands."""
    need: Need
    handle: Handler[A]
    aliases: tuple[str, ...] = ()
    """Other words for the verb (`acknowledge` for `ack`)."""

    @property
    def verb(self) -> str:
        return self.names[0].split()[0]


class Registry:
    """The entries, checked on construction: one per command of `commands.Action`, each verb
    with one command of its own name, one help line at least, and words nobody else uses."""

    def __init__(self, entries: Sequence[Entry[Any]]) -> None:
        self.entries = tuple(entries)
        self._by_action: dict[type[cmd.Action], Entry[Any]] = {e.action: e for e in entries}
        missing = set(typing.get_args(cmd.Action)) - set(self._by_action)
        if missing or len(self._by_action) != len(self.entries):
            raise ValueError(f"one entry per command: missing {sorted(a.__name__ for a in missing)}"
                             f", {len(self.entries) - len(self._by_action)} repeated")
        self._by_words: dict[tuple[str, str | None], Entry[Any]] = {}
        self._verbs: dict[str, str] = {}
        for entry in self.entries:
            for name in entry.names:
                verb, *sub = name.split(maxsplit=1)
                if self._by_words.setdefault((verb, sub[0] if sub else None), entry) is not entry:
                    raise ValueError(f"“{name}” names two commands")
            for word in (entry.verb, *entry.aliases):
                if self._verbs.setdefault(word, entry.verb) != entry.verb:
                    raise ValueError(f"“{word}” is two verbs")
        for verb in dict.fromkeys(self._verbs.values()):
            if (verb, None) not in self._by_words:
                raise ValueError(f"no command is named “{verb}” alone")
            if not any(e.help for e in self.entries if e.verb == verb):
                raise ValueError(f"“{verb}” has no help line")

    def __getitem__(self, action: type[cmd.Action]) -> Entry[Any]:
        return self._by_action[action]

    def entry_for(self, word: str, next_word: str | None) -> Entry[Any] | None:
        """The command a verb (or an alias of one) names, told apart by the word after it."""
        verb = self._verbs.get(word)
        if verb is None:
            return None
        return self._by_words.get((verb, next_word)) or self._by_words[verb, None]

    def names(self) -> list[str]:
        return [name for entry in self.entries for name in entry.names]

    def help(self) -> list[HelpLine]:
        return [line for entry in self.entries for line in entry.help]

    def verbs(self) -> Mapping[str, Text]:
        """Each verb once, with the meaning of its first help line (Telegram's
        `/crisis_<verb>` commands)."""
        verbs: dict[str, Text] = {}
        for entry in self.entries:
            for _usage, meaning in entry.help:
                verbs.setdefault(entry.verb, meaning)
        return verbs


async def _show_help(service: Service, action: cmd.Help, ctx: Context,
                     named: int | None) -> Reply:
    return Reply(help_lines(REGISTRY.help()))


REGISTRY = Registry((
    Entry(cmd.Declare, ("declare",), cmd.parse_declare, (
        (_("/crisis declare [SEV1-4] [kind:<kind>] <title>"),
         _("open an incident and its channel")),), Need.TEAM, handle.declare),
    Entry(cmd.Ack, ("ack",), cmd.parse_ack, (
        (_("/crisis ack"), _("acknowledge; you become commander if there is none")),),
        Need.TEAM, handle.ack, aliases=("acknowledge",)),
    Entry(cmd.AssignRole, ("role", "role remove"), cmd.parse_role, (
        (_("/crisis role <@person> <role>"),
         _("give someone a role (“role remove …” takes it back)")),),
        Need.ASSIGN, handle.assign_role),
    Entry(cmd.SetSeverity, ("severity",), cmd.parse_severity, (
        (_("/crisis severity SEV1|SEV2|SEV3|SEV4"), _("change the severity")),),
        Need.ROLE, handle.set_severity, aliases=("sev",)),
    Entry(cmd.StatusUpdate, ("status",), cmd.parse_status, (
        (_("/crisis status [responding|monitoring] <text>"), _("post a status update")),),
        Need.ROLE, handle.status_update, aliases=("update",)),
    Entry(cmd.PostDraft, ("draft",), cmd.parse_draft, (
        (_("/crisis draft [to:<target>] <text>"),
         _("propose a public statement or reply for approval")),), Need.ROLE, handle.post_draft),
    Entry(cmd.ReviseDraft, ("draft revise",), cmd.parse_revise, (
        (_("/crisis draft revise <n> <text>"),
         _("post a new version of draft n (approvals start over)")),),
        Need.REVISE, handle.revise_draft),
    Entry(cmd.Approve, ("approve",), cmd.parse_approve, (
        (_("/crisis approve [n]"), _("approve the latest (or n-th) draft")),),
        Need.DECIDE, handle.approve),
    Entry(cmd.Reject, ("reject",), cmd.parse_reject, (
        (_("/crisis reject [n] <reason>"), _("reject a draft, saying why")),),
        Need.DECIDE, handle.reject),
    Entry(cmd.Publish, ("publish",), cmd.parse_publish, (
        (_("/crisis publish [n] [to:<destination>] [public title]"),
         _("publish the approved draft n to the status page, channels and webhook")),),
        Need.PUBLISH, handle.publish),
    Entry(cmd.Note, ("note",), cmd.parse_note, (
        (_("/crisis note <text>"), _("add a note to the timeline")),), Need.ROLE, handle.note),
    Entry(cmd.ShowTimeline, ("timeline",), cmd.parse_timeline, (
        (_("/crisis timeline"), _("show the timeline")),), Need.TEAM, handle.show_timeline),
    Entry(cmd.ShowRoles, ("roles",), cmd.parse_roles, (
        (_("/crisis roles"), _("who holds which role in the incident")),), Need.TEAM,
        handle.show_roles),
    Entry(cmd.Resolve, ("resolve",), cmd.parse_resolve, (
        (_("/crisis resolve [summary]"), _("resolve the incident")),), Need.ROLE, handle.resolve),
    Entry(cmd.Reopen, ("reopen",), cmd.parse_reopen, (
        (_("/crisis reopen"), _("reopen a resolved incident")),), Need.ROLE, handle.reopen),
    Entry(cmd.ShowReport, ("report",), cmd.parse_report, (
        (_("/crisis report"), _("post-incident report")),), Need.TEAM, handle.show_report),
    Entry(cmd.ShowTasks, ("task",), cmd.parse_tasks, (
        (_("/crisis task [done|undo|assign] <n> [<@person>]"),
         _("the playbook checklist; mark or assign items")),),
        Need.TEAM, handle.show_tasks, aliases=("tasks",)),
    Entry(cmd.TaskDone, ("task done", "task undo"), cmd.parse_task_done, (), Need.ROLE,
          handle.task_done),
    Entry(cmd.TaskAssign, ("task assign",), cmd.parse_task_assign, (), Need.ROLE,
          handle.task_assign),
    Entry(cmd.ShowTemplates, ("templates",), cmd.parse_templates, (
        (_("/crisis templates"), _("list the statement templates")),),
        Need.TEAM, handle.show_templates),
    Entry(cmd.PostTemplate, ("draft template",), cmd.parse_template, (
        (_("/crisis draft template <name> [to:<target>]"),
         _("start a draft from a statement template")),), Need.ROLE, handle.post_template),
    Entry(cmd.SetLanguage, ("lang",), cmd.parse_lang, (
        (_("/crisis lang en|ru|fa|default"),
         _("the language of this incident's messages and report")),),
        Need.ROLE, handle.set_language, aliases=("language",)),
    Entry(cmd.Lesson, ("lesson",), cmd.parse_lesson, (
        (_("/crisis lesson <text>"), _("write down a lesson learned for the report")),),
        Need.ROLE, handle.lesson),
    Entry(cmd.StartDrill, ("drill",), cmd.parse_drill, (
        (_("/crisis drill <kind>"), _("start a training drill with simulated mentions")),),
        Need.TEAM, handle.start_drill),
    Entry(cmd.WebSignIn, ("web",), cmd.parse_web, (
        (_("/crisis web"), _("a one-time link that signs you in to the web console, sent to "
                             "you privately")),), Need.TEAM, handle.web_sign_in),
    Entry(cmd.Help, ("help",), cmd.parse_help, (
        (_("/crisis help"), _("this list")),), Need.TEAM, _show_help),
))


async def execute(service: Service, command: cmd.Command, ctx: Context) -> Reply:
    """Run a parsed `/crisis` command for `ctx.actor`; raise `CrisisError` to refuse. The
    reply speaks the incident's language when it has its own."""
    access.admit(ctx.origin)
    entry = REGISTRY[type(command.action)]  # its use case checks `entry.need` in the incident
    reply = await entry.handle(service, command.action, ctx, command.incident)
    if reply.incident is None or reply.language is not None:
        return reply
    incident = await service.incident_for(ctx, reply.incident)
    return replace(reply, language=incident.language)
