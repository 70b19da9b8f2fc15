"""The rules of a crisis in one place: status transitions, approval policy, grouping, defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.errors import Forbidden, Invalid
from bot.core.models import (
    STATUS_LABELS,
    Alert,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    Incident,
    PersonId,
    Severity,
    Status,
    any_role,
    role_name,
)
from bot.core.publication import Publication
from bot.core.spikes import SpikeWatch
from bot.core.text import Joined, Text, Who, _

DEFAULT_ROLES: tuple[str, ...] = (
    "commander",
    "spokesperson",
    "approver",
    "monitor",
    "legal",
    "support",
)
COMMANDER = "commander"

# Forward moves may skip steps (a team can go straight to "responding"); "monitoring" may fall
# back to "responding" when things get worse; nothing returns to "triggered" or "acknowledged";
# a resolved incident only comes back through reopen.
TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.TRIGGERED: frozenset(
        {Status.ACKNOWLEDGED, Status.RESPONDING, Status.MONITORING, Status.RESOLVED}
    ),
    Status.ACKNOWLEDGED: frozenset({Status.RESPONDING, Status.MONITORING, Status.RESOLVED}),
    Status.RESPONDING: frozenset({Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.RESPONDING, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.RESPONDING}),
}


QUOTED_CHARS = 24
"""The longest word a refusal quotes whole; longer ones are cut (`quoted`)."""


def quoted(word: str) -> str:
    """A word someone typed, as a refusal quotes it: on one short, printable line, whatever
    was pasted (5,000 characters, a NUL, a right-to-left override). Persian's joiners stay."""
    shown = "".join(c if c.isprintable() or c in "\u200c\u200d" else "�" for c in word)
    return shown if len(shown) <= QUOTED_CHARS else shown[:QUOTED_CHARS - 4] + "…"


SIGN_IN_LONGEST = timedelta(days=7)
"""A console sign-in link lives at most this long: a forgotten link must not stay a key."""


def check_sign_in_ttl(ttl: timedelta) -> None:
    """Raise `Invalid` unless `ttl` is a lifetime a sign-in link may have."""
    if ttl <= timedelta(0):
        raise Invalid(_("A sign-in link needs a positive lifetime, e.g. 15m."))
    if ttl > SIGN_IN_LONGEST:
        raise Invalid(_("A sign-in link lasts at most {days} days; ask for a new one when it is "
                        "needed.", days=SIGN_IN_LONGEST.days))


def check_transition(current: Status, target: Status) -> None:
    """Raise `Invalid` naming the legal moves when `current -> target` is not one of them."""
    if target in TRANSITIONS[current]:
        return
    allowed = Joined(STATUS_LABELS[s] for s in sorted(TRANSITIONS[current]))
    raise Invalid(
        _(
            "Cannot go from {current} to {target}; from {current} the incident can go to: "
            "{allowed}.",
            current=STATUS_LABELS[current],
            target=STATUS_LABELS[target],
            allowed=allowed,
        )
    )


@dataclass(frozen=True)
class ApprovalStep:
    """One step of a policy: `count` approvals from holders of any of `roles`."""

    roles: frozenset[str]
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not self.roles:
            raise ValueError("an approval step needs at least one role and a count of 1 or more")


ApprovalPolicy = tuple[ApprovalStep, ...]

DEFAULT_POLICIES: Mapping[Severity, ApprovalPolicy] = {
    Severity.SEV1: (ApprovalStep(frozenset({"approver"}), 2),),
    Severity.SEV2: (ApprovalStep(frozenset({"approver"}), 2),),
    Severity.SEV3: (ApprovalStep(frozenset({"approver"}), 1),),
    Severity.SEV4: (ApprovalStep(frozenset({"approver"}), 1),),
}


@dataclass(frozen=True)
class StepProgress:
    step: ApprovalStep
    approvers: tuple[PersonId, ...]

    @property
    def done(self) -> bool:
        return len(self.approvers) >= self.step.count


@dataclass(frozen=True)
class Route:
    """A routing rule: alerts matching `source`, every label in `labels` and `kind` (each
    optional) open their incident with these settings instead of the alert's own hints."""

    source: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    kind: CrisisKind | None = None
    severity: Severity | None = None
    set_kind: CrisisKind | None = None
    platform: str | None = None
    invite: tuple[PersonId, ...] = ()
    playbook: str | None = None
    publish_to: tuple[str, ...] | None = None
    """Where the incident's statements may be published (None: every configured destination)."""

    def matches(self, alert: Alert) -> bool:
        return (
            (self.source is None or self.source == alert.source)
            and (self.kind is None or self.kind is alert.kind)
            and all(alert.labels.get(k) == v for k, v in self.labels.items())
        )


NO_ROUTE = Route()


@dataclass(frozen=True)
class Rules:
    """The configurable part of the rules; the defaults are what most teams start with."""

    roles: tuple[str, ...] = DEFAULT_ROLES
    policies: Mapping[Severity, ApprovalPolicy] = field(
        default_factory=lambda: dict(DEFAULT_POLICIES)
    )
    veto_roles: frozenset[str] = frozenset({"legal"})
    default_severity: Severity = Severity.SEV3
    routes: tuple[Route, ...] = ()
    digest_seconds: float = 60.0
    spike: SpikeWatch = field(default_factory=SpikeWatch)
    people: Mapping[PersonId, PersonId] = field(default_factory=dict)
    """Bound identities: each of a person's ids (`slack:U123`, `telegram:93372553`) -> the
    first of them, the one under which they hold roles and decide."""
    assign_roles: frozenset[str] = frozenset({COMMANDER})
    """The roles whose holders give and take back roles (`[access] assign_roles`)."""
    role_aliases: Mapping[str, str] = field(default_factory=dict)
    """Other names people may type for a role (its name in each language, lowercased) -> its
    id: `/crisis role @x представитель`."""

    def assigners(self, incident: Incident) -> list[PersonId]:
        """Who to ask for a role in `incident`: the holders of `assign_roles`."""
        return list(dict.fromkeys(p for role in sorted(self.assign_roles)
                                  for p in incident.holders(role)))

    def deciding_roles(self) -> frozenset[str]:
        """The roles that approve or veto statements under any severity's policy."""
        return self.veto_roles.union(*(step.roles for policy in self.policies.values()
                                       for step in policy))

    def bound(self, person: PersonId) -> bool:
        """Named in `[[people]]`: the team's own list of its members."""
        return person in self.people

    def canonical(self, person: PersonId) -> PersonId:
        """The one id a human has in crisisbot, whatever platform they act from; unbound ids
        are their own."""
        return self.people.get(person, person)

    def on(self, platform: str, person: PersonId) -> PersonId:
        """How to reach `person` on `platform`: their id there when they bound one (a bound
        person holds roles under their first id, which another platform cannot mention,
        invite or message); else the id as it is."""
        if person.startswith(f"{platform}:"):
            return person
        canonical = self.canonical(person)
        return next((alias for alias, owner in self.people.items()
                     if owner == canonical and alias.startswith(f"{platform}:")), person)

    def route(self, alert: Alert) -> Route:
        """The first routing rule the alert matches (an empty rule when none does)."""
        return next((r for r in self.routes if r.matches(alert)), NO_ROUTE)

    def check_role(self, role: str) -> str:
        name = " ".join(role.split()).lower()
        name = self.role_aliases.get(name, name)
        if name not in self.roles:
            raise Invalid(
                _(
                    "Unknown role “{role}”. Roles: {roles}.",
                    role=quoted(role),
                    roles=Joined(tuple(role_name(r) for r in self.roles)),
                )
            )
        return name

    def policy(self, severity: Severity) -> ApprovalPolicy:
        return self.policies[severity]

    def progress(self, incident: Incident, draft: Draft) -> list[StepProgress]:
        """Approvals of the current version counted against each step of the policy, each
        only while its person still holds a role the step names: taking the role back takes
        back the approval of a draft still pending (an approved one stays approved)."""
        decisions = [d for d in draft.decisions_on(draft.version) if d.approve]
        return [
            StepProgress(step, tuple(d.person for d in decisions if d.step == index
                                     and incident.roles_of(d.person) & step.roles))
            for index, step in enumerate(self.policy(incident.severity))
        ]

    def approve(self, incident: Incident, draft: Draft, person: PersonId) -> tuple[int, str]:
        """Check that `person` may approve the draft now; return (step index, role it counts as).

        An approval counts only from a holder of a role the current step names, never from the
        draft's author, once per person and version, and only while the draft is pending.
        """
        self._check_pending(draft)
        if person in {draft.author, draft.current.author}:
            raise Forbidden(_("You wrote this draft, so you cannot approve it."))
        self._check_undecided(draft, person)
        held = incident.roles_of(person)
        for index, progress in enumerate(self.progress(incident, draft)):
            if progress.done:
                continue
            matching = sorted(held & progress.step.roles)
            if not matching:
                raise Forbidden(self._needs_role(incident, progress.step.roles, approve=True))
            return index, matching[0]
        raise Invalid(_("This draft already has every approval it needs."))

    def reject(self, incident: Incident, draft: Draft, person: PersonId) -> str:
        """Check that `person` may reject; return the role that allows it. Someone who already
        approved this version cannot take it back (one decision per person and version)."""
        self._check_pending(draft)
        self._check_undecided(draft, person)
        allowed = self.veto_roles.union(*(s.roles for s in self.policy(incident.severity)))
        matching = sorted(incident.roles_of(person) & allowed)
        if not matching:
            raise Forbidden(self._needs_role(incident, allowed, approve=False))
        return matching[0]

    def _needs_role(self, incident: Incident, roles: frozenset[str], *, approve: bool) -> Text:
        """Deciding needs one of `roles`: say so, and name who hands them out."""
        names = any_role(roles)
        people = Joined(Who(p) for p in self.assigners(incident))
        if approve:
            return (_("Approving needs the role {roles}; ask {people} to assign it.",
                      roles=names, people=people) if people else
                    _("Approving needs the role {roles}, and {incident} has no commander to "
                      "assign it yet: “/crisis ack {incident}” makes you its commander.",
                      roles=names, incident=incident.public_id))
        return (_("Rejecting needs the role {roles}; ask {people} to assign it.",
                  roles=names, people=people) if people else
                _("Rejecting needs the role {roles}, and {incident} has no commander to "
                  "assign it yet: “/crisis ack {incident}” makes you its commander.",
                  roles=names, incident=incident.public_id))

    def state_after(self, incident: Incident, draft: Draft, decision: Decision) -> DraftState:
        if not decision.approve:
            return DraftState.REJECTED
        if all(p.done for p in self.progress(incident, draft)):
            return DraftState.APPROVED
        return DraftState.PENDING

    @staticmethod
    def _check_undecided(draft: Draft, person: PersonId) -> None:
        if any(d.person == person for d in draft.decisions_on(draft.version)):
            raise Forbidden(
                _("You already decided on version {version} of this draft.", version=draft.version)
            )

    @staticmethod
    def _check_pending(draft: Draft) -> None:
        if draft.state is DraftState.APPROVED:
            raise Invalid(
                _("Draft #{number} is already approved and ready to publish.", number=draft.number)
            )
        if draft.state is DraftState.REJECTED:
            raise Invalid(
                _(
                    "Draft #{number} was rejected; revise it before deciding again.",
                    number=draft.number,
                )
            )


def check_current(draft: Draft, version: int) -> None:
    """A card or button names the version it showed; an outdated one is refused."""
    if version != draft.version:
        raise Invalid(_("That is an old version of draft #{number}; decide on version "
                        "{version}.", number=draft.number, version=draft.version))


def check_revisable(draft: Draft, *, published: bool) -> None:
    """An approved draft is final until it is published: then a revision is its correction
    (who may revise is `bot.core.access`'s `Need.REVISE`)."""
    if draft.state is DraftState.APPROVED and not published:
        raise Invalid(_("Draft #{number} is already approved; post a new draft instead.",
                        number=draft.number))


def refuse_unpublishable(draft: Draft, version: int | None,
                         published: Sequence[Publication]) -> None:
    """Only the current, approved, not yet published version goes out; say why not."""
    if version is not None and version != draft.version:
        raise Invalid(_("Version {old} of draft #{number} was superseded by version "
                        "{version}; only the current version can be published.",
                        old=version, number=draft.number, version=draft.version))
    if draft.state is DraftState.REJECTED:
        raise Invalid(_("Draft #{number} was rejected; revise it and have the new version "
                        "approved before publishing.", number=draft.number))
    if draft.state is not DraftState.APPROVED:
        raise Invalid(_("Version {version} of draft #{number} is not approved yet, so it "
                        "cannot be published.", version=draft.version, number=draft.number))
    if any(p.draft == draft.number and p.version == draft.version for p in published):
        raise Invalid(_("Version {version} of draft #{number} is published already.",
                        version=draft.version, number=draft.number))


def was_published(draft: Draft, published: Sequence[Publication]) -> bool:
    return any(p.draft == draft.number for p in published)


def check_open(incident: Incident) -> None:
    if not incident.is_open:
        raise Invalid(
            _(
                "{incident} is resolved; reopen it first with “/crisis reopen”.",
                incident=incident.public_id,
            )
        )


SEVERITY_HINTS: Mapping[str, Severity] = {
    "critical": Severity.SEV1,
    "fatal": Severity.SEV1,
    "page": Severity.SEV1,
    "p1": Severity.SEV1,
    "p2": Severity.SEV2,
    "p3": Severity.SEV3,
    "p4": Severity.SEV4,
    "p5": Severity.SEV4,
    "high": Severity.SEV2,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "warning": Severity.SEV3,
    "medium": Severity.SEV3,
    "minor": Severity.SEV4,
    "low": Severity.SEV4,
    "info": Severity.SEV4,
}


def severity_from_hint(hint: str | None) -> Severity | None:
    """`critical` -> SEV1, `warning` -> SEV3, `SEV2` -> SEV2; unknown -> None."""
    if not hint:
        return None
    value = hint.strip()
    if value.upper() in Severity.__members__:
        return Severity(value.upper())
    return SEVERITY_HINTS.get(value.lower())


def kind_from_hint(hint: str | None) -> CrisisKind | None:
    if not hint:
        return None
    value = hint.strip().lower().replace("-", "_").replace(" ", "_")
    return CrisisKind(value) if value in CrisisKind._value2member_map_ else None


def alert_severity(alerts: Sequence[Alert], default: Severity) -> Severity:
    """The most severe hint among the alerts (SEV1 beats SEV3), else the default."""
    hints = [a.severity for a in alerts if a.severity is not None]
    return min(hints, key=lambda s: s.value) if hints else default


APPROVE_REACTIONS = frozenset({"✅", "👍", "✔"})
REJECT_REACTIONS = frozenset({"❌", "👎", "⛔"})


def reaction_decision(emoji: str) -> bool | None:
    """✅/👍 approve, ❌/👎 reject, any other emoji is not a decision. Platforms that name
    emoji (Slack's `white_check_mark`) hand over the emoji itself."""
    if emoji in APPROVE_REACTIONS:
        return True
    if emoji in REJECT_REACTIONS:
        return False
    return None
