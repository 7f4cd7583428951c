"""What the console's 语音留言 page shows and does, for one signed-in operator's scope (the
hub's service functions in :mod:`sync.hub.voice`, the same ones ``lianxin hub voice …``
calls). Plain dicts, no HTTP: the pages render them, and tests read them directly.
"""

from __future__ import annotations

from .. import operators, voice
from ..storage import HubStorage


def messages(storage: HubStorage, operator: dict, *, everything: bool = False,
             clock=None) -> dict:
    """The voice messages of every branch in scope, newest first: those not followed up yet
    (``everything``: all of them). ``can_act``: the operator may mark them."""
    names = {b["code"]: b["name"] for b in storage.branch_names()}
    rows = []
    for code in operators.branches_in_scope(storage, operator):
        for m in voice.messages(storage, code, open_only=not everything, clock=clock):
            rows.append({**m, "branch_name": names[code]})
    rows.sort(key=lambda m: m["recorded_at"], reverse=True)
    return {"messages": rows, "everything": everything,
            "unheard": sum(1 for m in rows if not m["heard_at"]),
            "keep_days": voice.keep_days(),
            "can_act": operator["role"] != "branch_secretary"}


def waiting(storage: HubStorage, codes: list[str]) -> dict[str, int]:
    """Unheard messages per branch, for the overview's counts of what waits."""
    voice.catch_up(storage)
    return {code: voice.unheard(storage, code) for code in codes}


def audio(storage: HubStorage, operator: dict, actor, message_id: str, *,
          first: bool = True, clock=None) -> bytes:
    """A message's WAV for an operator who may see its branch (403 otherwise); opening it
    (``first``: not a later range of the same play) is on the operators' trail."""
    row = voice.get(storage, message_id)
    operators.require_branch(storage, operator, row["branch"])
    wav = voice.audio(storage, message_id)
    if first:
        voice.played(storage, actor, message_id, row["branch"], clock=clock)
    return wav


def mark_heard(storage: HubStorage, operator: dict, actor, message_id: str, *,
               clock=None) -> dict:
    row = voice.get(storage, message_id)
    operators.require_branch(storage, operator, row["branch"], write=True)
    return voice.mark_heard(storage, actor, message_id, clock=clock)


def follow_up(storage: HubStorage, operator: dict, actor, message_id: str, note: str, *,
              clock=None) -> dict:
    row = voice.get(storage, message_id)
    operators.require_branch(storage, operator, row["branch"], write=True)
    return voice.follow_up(storage, actor, message_id, note, clock=clock)
