"""The phone dialog's vocabulary: its states, the events it takes, the actions it gives.

Kept apart from ``dialog`` (the state machine) so the phone line, a handset at the kiosk and
the tests can import the types without the dialog's core dependencies.

Time. Every event carries ``t``: seconds on the call's own clock (monotonic, 0.0 at answer).
The dialog never reads a clock; silence, listening time and call length all come from ``t``.

Playback. Every ``Play*`` action has a ``seq`` (increasing within a call). The line queues
plays in order; when its queue runs empty it sends ``PlayDone(seq=<last seq it played>)``.
``StopPlaying`` drops the current play and the queue at once, and no ``PlayDone`` is owed
for what it dropped (a late one is harmless: the dialog ignores a ``seq`` it no longer waits
for).

What was heard. For every play that began, the line also sends ``Played(seq, start, end,
cut)`` (before that play's PlayDone, and before HungUp for one the hang-up cut); the dialog
keeps them in the call's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "Action", "AudioIn", "Digit", "Event", "HangUp", "HungUp", "PLAYS", "PlayDone", "PlayPrompt",
    "PlaySentence", "PlayText", "PlayTone", "Played", "Phrase", "StartRecording", "State",
    "StopPlaying", "StopRecording", "Tick",
]


class State(str, Enum):  # noqa: UP042 - values compare and serialise as plain strings
    ASK_NUMBER = "ask_number"        # member number by keypad (ends with #) or speech
    CONFIRM_PIN = "confirm_pin"      # caller's number is one member's: PIN, or * "not me"
    ASK_PIN = "ask_pin"              # the 4-digit PIN for the number given
    MENU = "menu"                    # 2 lesson, 3 notices, 0 message, 9 repeat; 1 dues again
    LESSON_CHOOSE = "lesson_choose"  # recommendation read: 1 listen, 2 another, 0 back
    LESSON = "lesson"                # sentences read one by one: * back, # pause, 0 stop
    LESSON_PAUSED = "lesson_paused"  # # resume, * back and resume, 0 stop
    MESSAGE_ASK = "message_ask"      # instructions and the tone before recording
    RECORDING = "recording"          # caller's audio kept until #, the time limit or hang-up
    OFFER_STAFF = "offer_staff"      # after 3 failed tries: 0 message, 1 try again
    GOODBYE = "goodbye"              # goodbye playing; the line hangs up when it is done
    ENDED = "ended"                  # call recorded; every further event is ignored


# -- events: what the line tells the dialog ------------------------------------------------

@dataclass(frozen=True)
class Digit:
    """A key pressed: one of 0-9 * # (RFC 4733 event or SIP INFO)."""
    key: str
    t: float


@dataclass(frozen=True)
class Phrase:
    """A phrase the recogniser heard (from ``Dialog.grammar``), with its confidence 0-1."""
    text: str
    confidence: float
    t: float


@dataclass(frozen=True)
class Tick:
    """Time passes. Send one at least every second (or at ``Dialog.deadline``)."""
    t: float


@dataclass(frozen=True)
class PlayDone:
    """The playback queue ran empty; ``seq`` is the last play that finished."""
    seq: int
    t: float


@dataclass(frozen=True)
class Played:
    """What the caller heard of one play: from ``start`` to ``end`` (call time), ``cut``
    when a StopPlaying or the hang-up ended it early. One per play that began; a play
    dropped from the queue before it began gets none. Sent before that play's PlayDone."""
    seq: int
    start: float
    end: float
    cut: bool
    t: float


@dataclass(frozen=True)
class AudioIn:
    """Caller audio, 16-bit little-endian mono PCM at the dialog's ``rate_hz``. Only kept
    between ``StartRecording`` and ``StopRecording``; the line may send it at any time."""
    pcm: bytes
    t: float


@dataclass(frozen=True)
class HungUp:
    """The caller hung up (BYE, CANCEL, or the line lost them)."""
    t: float


Event = Digit | Phrase | Tick | PlayDone | Played | AudioIn | HungUp


# -- actions: what the dialog asks the line to do, in order --------------------------------

@dataclass(frozen=True)
class PlayPrompt:
    """A catalogue prompt: ``PromptCache.pcm(prompt_id, rate, **values)``. ``text`` is the
    filled text (for logs, tests and a text-only line)."""
    seq: int
    prompt_id: str
    text: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PlayText:
    """Free text (a dues sentence, a notice): ``PromptCache.speak(text, rate)``."""
    seq: int
    text: str


@dataclass(frozen=True)
class PlaySentence:
    """One sentence of a lesson (``speak(text, rate)``); ``next_text`` may be synthesised
    ahead so the next sentence starts without a gap ("" after the last one)."""
    seq: int
    lesson_id: str
    index: int
    count: int
    text: str
    next_text: str = ""


@dataclass(frozen=True)
class PlayTone:
    """A plain sine beep (the "tone" before a message is recorded)."""
    seq: int
    hz: int = 1000
    ms: int = 400


@dataclass(frozen=True)
class StopPlaying:
    """Stop the current play now and drop the queue (barge-in)."""


@dataclass(frozen=True)
class StartRecording:
    """Send the caller's audio as ``AudioIn`` events from now on."""


@dataclass(frozen=True)
class StopRecording:
    """No more ``AudioIn`` is needed."""


@dataclass(frozen=True)
class HangUp:
    """End the call now. Always comes after the goodbye prompt has finished playing."""


PLAYS = (PlayPrompt, PlayText, PlaySentence, PlayTone)
Action = (PlayPrompt | PlayText | PlaySentence | PlayTone | StopPlaying | StartRecording
          | StopRecording | HangUp)
