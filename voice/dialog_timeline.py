"""A call's timeline, as the dialog saw it: every prompt the caller heard (its text, start
and end in ms from answer, cut short or not) and every key or recognised phrase, in order.

The line reports what was heard with ``Played`` events (``dialog_types``); the dialog
notes its plays as it gives them (``queued``) and the caller's keys and phrases as they
come. Kept with the call record (``core.calls``); never a PIN: a digit typed while a PIN
is asked is kept as "•", and digits said then are kept as "•" too.
"""

from __future__ import annotations

from .dialog_types import PlayPrompt, PlaySentence, PlayText, PlayTone

PIN_MASK = "•"


class Timeline:
    def __init__(self, t0: float = 0.0):
        self.t0 = t0
        self.entries: list[dict] = []
        self._plays: dict[int, tuple[str, str]] = {}

    def _ms(self, t: float) -> int:
        return max(0, round((t - self.t0) * 1000))

    def queued(self, action, what: str | None = None) -> None:
        if isinstance(action, PlayPrompt):
            self._plays[action.seq] = (action.prompt_id, action.text)
        elif isinstance(action, PlaySentence):
            self._plays[action.seq] = (f"lesson:{action.lesson_id}:{action.index}", action.text)
        elif isinstance(action, PlayText):
            self._plays[action.seq] = (what or "text", action.text)
        elif isinstance(action, PlayTone):
            self._plays[action.seq] = ("tone", f"{action.hz} Hz {action.ms} ms")

    def played(self, seq: int, start: float, end: float, cut: bool) -> None:
        play = self._plays.pop(seq, None)
        if play is None:
            return
        self.entries.append({"t_ms": self._ms(start), "kind": "say", "id": play[0],
                             "text": play[1], "end_ms": max(self._ms(start), self._ms(end)),
                             "cut": bool(cut)})

    def key(self, t: float, key: str, *, secret: bool = False) -> None:
        self.entries.append({"t_ms": self._ms(t), "kind": "key",
                             "key": PIN_MASK if secret and key.isdigit() else key})

    def phrase(self, t: float, text: str, confidence: float, *, secret: bool = False) -> None:
        self.entries.append({"t_ms": self._ms(t), "kind": "phrase",
                             "text": PIN_MASK if secret else text,
                             "confidence": round(float(confidence), 2)})

    def ordered(self) -> list[dict]:
        return sorted(self.entries, key=lambda e: e["t_ms"])
