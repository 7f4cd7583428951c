"""The member page (``/branch/CODE/member/NO``): one member's dues history, study and
consents (:func:`sync.hub.member_record.open_record`, as ``lianxin hub member-record``).
Opening it is itself on the operators' trail (``member.viewed``: who, which member, from
where). No HTTP here."""

from __future__ import annotations

from .. import member_record, operators
from ..storage import HubStorage


def member(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
           member_no: str, *, clock=None) -> dict:
    """The record, in the operator's scope (:class:`operators.Forbidden` outside); the
    opening is recorded once the record is found."""
    operators.require_branch(storage, operator, code)
    return member_record.open_record(storage, actor, code, member_no, clock=clock)
