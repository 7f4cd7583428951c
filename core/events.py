"""The event catalogue: every event type a journal or the hub's branch log may hold, and who
may author it.

A terminal records its own facts; the hub is the branch's authority (DESIGN §8). Each type
has one of four roles:

    FACT      a terminal's own fact (a payment it took, a study sitting, a consent it
              witnessed): the hub stores it and passes it to the branch's other terminals
    LOCAL     a terminal's own fact that stays with the hub (calls, voice messages, help
              requests): least data per terminal, the other terminals never receive it
    PROPOSAL  a terminal's change to what the hub owns (a roster edit, a yearly amount, a
              member's or staff member's PIN): it holds at once on the terminal that made it,
              and reaches the others only when the hub operator accepts it — then as the
              hub's own event, in the hub's order
    HUB       the hub's alone (branch identity and dues policy, staff accounts, lessons,
              notices): a terminal enrolled with a hub may not author it — core refuses it
              locally (:func:`check_local`) and the hub refuses a batch carrying one. A
              terminal set up offline wrote these before it enrolled; the hub keeps that
              history as it was sent and passes none of it on.

Mutable records (policy, staff, the accepted roster, lessons) follow the hub's log order on
every terminal: an event's ``at`` is for display and audit only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LianxinError

FACT, LOCAL, PROPOSAL, HUB = "fact", "local", "proposal", "hub"


@dataclass(frozen=True)
class EventType:
    name: str
    role: str
    fields: tuple[str, ...]  # payload fields every event of the type carries
    owner: str               # the module whose tables the event is about

    @property
    def terminal_may_author(self) -> bool:
        return self.role != HUB

    @property
    def shared(self) -> bool:
        """Do a branch's other terminals receive a terminal's event of this type as sent?"""
        return self.role == FACT


_DUES = ("entry_id", "member_no", "kind", "amount_fen", "method", "collected_by",
         "receipt_no", "recorded_at", "terminal_id")
_CONSENT = ("consent_id", "member_no", "scope", "granted", "method", "at")

CATALOGUE: dict[str, EventType] = {e.name: e for e in (
    EventType("branch.created", HUB, ("code", "name"), "core.branch"),
    EventType("branch.policy_set", HUB, ("code", "back_pay_limit", "pay_ahead_limit"),
              "core.branch"),
    EventType("staff.added", HUB, ("staff_no", "name", "role", "pin_hash"), "core.branch"),
    EventType("lesson.published", HUB, ("lesson_id", "title", "category", "minutes"),
              "core.study"),
    EventType("notice.posted", HUB, ("notice_id", "title", "body", "posted"), "core.notices"),
    EventType("member.added", PROPOSAL, ("member_no", "name", "category", "dues_from"),
              "core.members"),
    EventType("member.updated", PROPOSAL, ("member_no",), "core.members"),
    EventType("member.rate_fixed", PROPOSAL, ("member_no", "year", "monthly_fen", "rule"),
              "core.members"),
    EventType("member.pin_set", PROPOSAL, ("member_no", "pin_hash"), "core.pins"),
    EventType("staff.pin_set", PROPOSAL, ("staff_no", "pin_hash"), "core.pins"),
    EventType("dues.dues", FACT, _DUES, "core.dues"),
    EventType("dues.voluntary", FACT, _DUES, "core.dues"),
    EventType("dues.correction", FACT, _DUES, "core.dues"),
    EventType("study.session", FACT, ("session_id", "member_no", "lesson_id", "started_at",
                                      "seconds", "completed", "channel", "terminal_id"),
              "core.study"),
    EventType("consent.granted", FACT, _CONSENT, "core.consent"),
    EventType("consent.withdrawn", FACT, _CONSENT, "core.consent"),
    EventType("call.recorded", LOCAL, (), "core.calls"),
    EventType("message.recorded", LOCAL, ("message_id",), "core.calls"),
    EventType("message.heard", LOCAL, ("message_id",), "core.calls"),
    EventType("help.requested", LOCAL, ("where",), "core.assist"),
)}

HUB_TYPES = tuple(n for n, e in CATALOGUE.items() if e.role == HUB)
PROPOSAL_TYPES = tuple(n for n, e in CATALOGUE.items() if e.role == PROPOSAL)
SHARED_TYPES = tuple(n for n, e in CATALOGUE.items() if e.shared)

# Set by sync.client when the terminal enrolls: from then on the hub owns the HUB types.
ENROLLED_META = "sync.branch"


class NotHereYet(Exception):
    """An event needs a row this terminal does not hold yet (a payment of a member whose
    addition the hub has not accepted): core.replica keeps it waiting."""


class Unusable(Exception):
    """An event this terminal cannot use (a payload it cannot apply): core.replica keeps it
    skipped, with the reason, and sync reports it to the hub."""


class HubOwned(LianxinError):
    """A terminal enrolled with a hub tried to author what the hub owns."""

    zh_default = "这项内容由服务中心统一管理，请联系乡镇服务中心修改。"


def get(name: str) -> EventType | None:
    return CATALOGUE.get(name)


def check_local(store, event_type: str) -> None:
    """Refuse a local write of an unknown type, or of a HUB type once the terminal is
    enrolled (the hub would refuse the batch that carries it)."""
    spec = CATALOGUE.get(event_type)
    if spec is None:
        raise ValueError(f"{event_type!r} is not in the event catalogue (core.events)")
    if spec.role == HUB and store.meta(ENROLLED_META):
        raise HubOwned(f"{event_type} is authored by the hub once the terminal is enrolled "
                       f"(branch {store.meta(ENROLLED_META)})")
