"""The phone line's IVR: a state machine with no I/O of its own.

Interface (all the phone line needs; types in ``dialog_types``):

    dialog = Dialog(store, rate_hz=8000)        # cheap: reads nothing yet
    actions = dialog.start(caller_number)        # at answer, t = 0.0
    actions = dialog.handle(event)               # Digit | Phrase | Tick | PlayDone | Played
                                                 # | AudioIn | HungUp
    dialog.grammar     phrases the recogniser may listen for now ([] = none)
    dialog.deadline    call time at which a Tick is due (None = no timer running)
    dialog.ended       True once the call is recorded; further events return []

Actions come back in the order to carry out: PlayPrompt / PlayText / PlaySentence /
PlayTone (queued), StopPlaying (barge-in: now), StartRecording / StopRecording, HangUp (only
ever after the goodbye prompt's PlayDone). What is stored (PIN checks, study sessions, voice
messages, the call record) goes through core functions with the store given, so
``handle`` may take a while (the argon2 PIN check: ~0.25 s here) and must not run on an
audio thread. A Store is one SQLite connection: dialogs sharing one must not be inside
``start``/``handle`` at the same time (hold one lock around the calls, or open a Store per
call), or one call's writes would land inside another's transaction.

Transitions (a key while a prompt plays stops it and acts: barge-in):

    start ─► ASK_NUMBER    "连心热线，请输入编号，按井号结束。"
          └► CONFIRM_PIN   (the caller's number is one consented member's: the PIN only;
                            * "not me" ─► ASK_NUMBER)
    ASK_NUMBER ─digits #, speech, or digits then silence─► ASK_PIN (known number or not)
    CONFIRM_PIN / ASK_PIN ─4 digits (a # after them ends the input)─►
        right ─► "<name>同志，您好", the dues, MENU
        wrong number or PIN (one answer) ─► ASK_NUMBER; the 3rd in a call, or a spent
        budget (core.phone_guard) ─► GOODBYE
    MENU ─2─► LESSON_CHOOSE ─1─► LESSON ─#─► LESSON_PAUSED ─#─► LESSON
                            ─2─► next recommendation    LESSON ─*─► previous sentence
                            ─0─► MENU                   LESSON/PAUSED ─0/last sentence─► MENU
         ─3─► (notices read) MENU   ─9─► MENU (repeated)   ─1─► (dues read again) MENU
         ─0─► MESSAGE_ASK ─tone done─► RECORDING ─#/time limit─► MENU (or GOODBYE if unknown)
    any asking state ─3 failures (5 s silence, wrong key, not understood)─► OFFER_STAFF
    OFFER_STAFF ─0─► MESSAGE_ASK   ─1─► back where it failed   ─3 failures─► GOODBYE
    GOODBYE ─PlayDone─► HangUp, ENDED          caller hangs up anywhere ─► ENDED

The timeline (``dialog_timeline``): the line reports each play's start and end
(``Played``); keys and phrases are noted as they come; all of it is kept with the call
record, PIN digits masked.

Rules for older callers (from IVR usability research): at most 4 choices a menu (9 "repeat" is always
there, like the kiosk's bar), depth ≤ 3, reprompt after 5 s of silence, staff offered after
3 failed tries, never a hang-up without goodbye. Wrong numbers and PINs are counted by
``dialog_identify`` and ``core.phone_guard``, not by the 3-try rule. PINs are taken by
keypad only: a PIN said aloud can be overheard.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

from core import calls
from core.clock import iso

from .dialog_identify import IdentifySteps
from .dialog_lesson import LESSON_STATES, LessonSteps
from .dialog_menu import MenuSteps
from .dialog_message import MessageSteps
from .dialog_timeline import Timeline
from .dialog_types import (
    PLAYS,
    Action,
    AudioIn,
    Digit,
    Event,
    HangUp,
    HungUp,
    Phrase,
    PlayDone,
    Played,
    PlayPrompt,
    PlaySentence,
    PlayText,
    PlayTone,
    StartRecording,
    State,
    StopPlaying,
    StopRecording,
    Tick,
)
from .phone_prompts import PHONE_CATALOGUE

# The whole vocabulary is importable from here: ``from voice.dialog import Dialog, Digit, ...``.
__all__ = [
    "PLAYS", "Action", "AudioIn", "Dialog", "Digit", "Event", "HangUp", "HungUp", "Phrase",
    "PlayDone", "PlayPrompt", "PlaySentence", "PlayText", "PlayTone", "Played", "StartRecording",
    "State",
    "StopPlaying", "StopRecording", "Tick", "spoken_digits",
]

log = logging.getLogger(__name__)

REPROMPT_S = 5.0          # silence before a question is asked again
MAX_FAILURES = 3          # failed tries in one state before staff are offered
GOODBYE_GRACE_S = 30.0    # hang up even if the line never reports the goodbye finished
MIN_CONFIDENCE = 0.6

ASKING = frozenset({State.CONFIRM_PIN, State.ASK_NUMBER, State.ASK_PIN, State.MENU,
                    State.LESSON_CHOOSE, State.LESSON_PAUSED, State.OFFER_STAFF})
_DIGIT_WORDS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
                "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
GRAMMARS: dict[State, dict[str, str]] = {
    State.CONFIRM_PIN: {"不是本人": "*", "不是我": "*"},
    State.MENU: {"党费": "1", "查党费": "1", "学习": "2", "听课": "2", "通知": "3",
                 "留言": "0", "工作人员": "0", "重听": "9", "再听一遍": "9"},
    State.LESSON_CHOOSE: {"听这一课": "1", "好": "1", "换一课": "2", "返回": "0",
                          "主菜单": "0", "再听一遍": "9"},
    State.LESSON: {"上一句": "*", "暂停": "#", "停止": "0"},
    State.LESSON_PAUSED: {"继续": "#", "上一句": "*", "停止": "0", "再听一遍": "9"},
    State.OFFER_STAFF: {"留言": "0", "工作人员": "0", "再试一次": "1", "再听一遍": "9"},
}


def spoken_digits(text: str) -> str | None:
    """"零 零 一" -> "001"; None when anything else was said."""
    words = re.sub(r"\s+", "", text or "")
    if not words or any(c not in _DIGIT_WORDS for c in words):
        return None
    return "".join(_DIGIT_WORDS[c] for c in words)


class Dialog(IdentifySteps, MenuSteps, LessonSteps, MessageSteps):
    """One call. See the module docstring for the interface and the transitions; the
    steps of identification, lessons and messages live in their own modules (mixins)."""

    def __init__(self, store, *, rate_hz: int = 8000, call_id: str | None = None,
                 catalogue=PHONE_CATALOGUE, min_confidence: float = MIN_CONFIDENCE):
        self.store = store
        self.rate_hz = rate_hz
        self.call_id = call_id or str(uuid.uuid4())
        self.catalogue = catalogue
        self.min_confidence = min_confidence
        self.state: State | None = None
        self.caller = ""
        self.member_no: str | None = None     # set only once the PIN was right
        self.path: list[str] = []
        self.outcome: str | None = None
        self.deadline: float | None = None
        self.record: dict | None = None       # the call record, once written
        self._out: list = []
        self._seq = 0
        self._pending: int | None = None      # seq of the last play not yet done
        self._t = self._t0 = 0.0
        self._wall0 = None
        self._failures = 0
        self._digits = ""
        self._candidate: dict | None = None   # {"digits"} typed or {"member_no"} by phone
        self._greeted = False
        self._wrong_ids = 0                   # wrong number-or-PIN tries in this call
        self._hash_ends_pin_until: float | None = None
        self.timeline = Timeline()
        self._text_kind: dict[int, str] = {}  # seq of a PlayText -> what it says ("dues", ...)
        self._offer_from: State | None = None
        self._goodbye_at: float | None = None
        self._recs: list = []
        self._rec_i = 0
        self._lesson: dict | None = None
        self._audio = bytearray()
        self._rec_start = 0.0
        self._tone_seq: int | None = None

    # -- interface ----------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.state is State.ENDED

    @property
    def grammar(self) -> list[str]:
        if self.state is State.ASK_NUMBER:
            return sorted(set(_DIGIT_WORDS))
        return list(GRAMMARS.get(self.state, {}))

    def start(self, caller: str, t: float = 0.0) -> list:
        if self.state is not None:
            raise RuntimeError("Dialog.start called twice")
        self.caller = str(caller or "")
        self._t = self._t0 = t
        self.timeline.t0 = t
        self._wall0 = self.store.now()
        self._out = []
        self._identify()
        return self._noted(self._out)

    def handle(self, event) -> list:
        if not isinstance(event, Event):
            raise TypeError(f"not a dialog event: {event!r}")
        if self.state is None:
            raise RuntimeError("Dialog.handle before Dialog.start")
        if self.state is State.ENDED:
            return []
        self._out = []
        self._t = max(self._t, float(event.t))
        try:
            self._dispatch(event)
            if (self.state in ASKING and self._pending is None and self.deadline is None):
                self.deadline = self._t + REPROMPT_S
        except Exception:
            log.exception("phone dialog %s failed in state %s", self.call_id,
                          getattr(self.state, "value", self.state))
            self._fail_safe(hung_up=isinstance(event, HungUp))
        return self._noted(self._out)

    def _noted(self, actions: list) -> list:
        for a in actions:
            if isinstance(a, PLAYS):
                self.timeline.queued(a, self._text_kind.get(a.seq))
        return actions

    # -- dispatch -----------------------------------------------------------------------

    def _dispatch(self, e) -> None:
        if isinstance(e, HungUp):
            self._on_hung_up()
        elif isinstance(e, PlayDone):
            if e.seq == self._pending:
                self._pending = None
                self._on_done(e.seq)
        elif isinstance(e, Played):
            self.timeline.played(e.seq, e.start, e.end, e.cut)
        elif isinstance(e, Tick):
            self._on_tick()
        elif isinstance(e, AudioIn):
            if self.state is State.RECORDING:
                self._on_audio(e.pcm)
        elif isinstance(e, Digit):
            if len(e.key) != 1 or e.key not in "0123456789*#":
                return
            self.timeline.key(e.t, e.key, secret=self._pin_asked)
            if self._hash_ends_pin(e.key):
                return  # "1234#": the # only ended the PIN
            self.deadline = None
            self._on_key(e.key)
        elif isinstance(e, Phrase):
            self.timeline.phrase(e.t, e.text, e.confidence,
                                 secret=self._pin_asked and bool(spoken_digits(e.text)))
            self._on_phrase(e)

    @property
    def _pin_asked(self) -> bool:
        return self.state in (State.CONFIRM_PIN, State.ASK_PIN)

    def _on_key(self, key: str) -> None:
        handler = getattr(self, f"_key_{self.state.value}", None)
        if handler is not None:
            handler(key)

    def _on_phrase(self, e: Phrase) -> None:
        if self.state in (State.MESSAGE_ASK, State.RECORDING, State.GOODBYE):
            return  # the caller's own message, or talk over the goodbye: not commands
        text = re.sub(r"\s+", "", e.text or "")
        confident = e.confidence >= self.min_confidence
        self.deadline = None
        if self.state is State.ASK_NUMBER and confident and spoken_digits(text):
            self._stop()
            self._digits = spoken_digits(text)
            self._submit_number()
        elif confident and text in GRAMMARS.get(self.state, {}):
            self._on_key(GRAMMARS[self.state][text])
        elif self.state in (State.CONFIRM_PIN, State.ASK_PIN) and confident and spoken_digits(text):
            self._stop()
            self._say("pin.by_keypad")
        elif self.state is not State.LESSON:  # noise must not interrupt a lesson
            self._stop()
            self._fail("not_understood")

    def _on_done(self, seq: int) -> None:
        if self.state is State.LESSON:
            if self._lesson["reading"]:
                self._account()
                self._lesson["index"] += 1
                self._after_sentence()
            else:
                self._read()
        elif self.state is State.MESSAGE_ASK:
            self._after_instructions(seq)
        elif self.state is State.GOODBYE:
            self._hang_up()

    def _on_tick(self) -> None:
        if self.state is State.GOODBYE and self._t >= self._goodbye_at + GOODBYE_GRACE_S:
            self._hang_up()
        elif self.state is State.RECORDING:
            self._recording_tick()
        elif self.deadline is not None and self._t >= self.deadline:
            self.deadline = None
            self._silence()

    def _on_hung_up(self) -> None:
        if self.state is State.RECORDING:
            self._finish_recording(tell=False)
        self._account()
        self._end(self.outcome if self.state is State.GOODBYE else "hung_up")

    # -- playing ------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        self._pending = self._seq
        self.deadline = None
        return self._seq

    def _say(self, prompt_id: str, **values) -> None:
        text = self.catalogue[prompt_id].format(**values)
        self._out.append(PlayPrompt(self._next_seq(), prompt_id, text, dict(values)))

    def _text(self, text: str, kind: str = "text") -> None:
        seq = self._next_seq()
        self._text_kind[seq] = kind
        self._out.append(PlayText(seq, text))

    def _stop(self) -> None:
        """Barge-in: stop whatever plays (and count the listening it cut short)."""
        if self._pending is not None:
            self._out.append(StopPlaying())
            self._pending = None
        self._account()

    def _mark(self, step: str) -> None:
        if not self.path or self.path[-1] != step:
            self.path.append(step)

    def _enter(self, state: State, *, announce: bool = True) -> None:
        if self.state in LESSON_STATES and state not in LESSON_STATES:
            self._leave_lesson()
        self.state = state
        self._failures = 0
        self._digits = ""
        self._mark(state.value)
        if announce:
            self._ask()

    def _ask(self) -> None:
        """The current state's question (on entry, and again after silence or a mistake)."""
        s = self.state
        if s in (State.ASK_NUMBER, State.CONFIRM_PIN, State.ASK_PIN):
            self._ask_identify(s)
        elif s is State.MENU:
            self._say("phone.main")
        elif s is State.LESSON_CHOOSE:
            rec = self._recs[self._rec_i]
            self._say("lesson.recommended", title=rec.title)
            self._say("lesson.reason", reason=rec.reason_zh)
            self._say("lesson.choose")
        elif s is State.LESSON:
            self._say("lesson.controls")
        elif s is State.LESSON_PAUSED:
            self._say("lesson.paused")
        elif s is State.OFFER_STAFF:
            self._say("too_many_tries")
            self._say("offer.retry")
        elif s is State.MESSAGE_ASK:
            self._say("message.ask")

    def _fail(self, prompt_id: str | None) -> None:
        """A failed try: say why and ask again; the third one offers the staff."""
        self._failures += 1
        if self._failures < MAX_FAILURES:
            if prompt_id:
                self._say(prompt_id)
            self._ask()
        elif self.state is State.OFFER_STAFF:
            self._goodbye("no_response" if self.member_no else "not_identified")
        else:
            self._offer_from = self.state
            self._enter(State.OFFER_STAFF)

    def _silence(self) -> None:
        if self.state is State.ASK_NUMBER and self._digits:
            self._submit_number()  # typed a number and forgot the # key
        else:
            self._digits = ""
            self._fail("idle")

    def _goodbye(self, outcome: str) -> None:
        if self.state in LESSON_STATES:
            self._leave_lesson()
        self.outcome = outcome
        self.state = State.GOODBYE
        self._mark("goodbye")
        self._goodbye_at = self._t
        self._say("phone.goodbye")

    def _hang_up(self) -> None:
        self._out.append(HangUp())
        self._end(self.outcome)

    # -- the end ------------------------------------------------------------------------

    def _end(self, outcome: str) -> None:
        if self.state in LESSON_STATES:
            self._leave_lesson()
        self.outcome = outcome
        self.state = State.ENDED
        self.deadline = None
        ended = self._wall0 + timedelta(seconds=self._t - self._t0)
        try:
            self.record = calls.record_call(
                self.store, call_id=self.call_id, caller=self.caller,
                started_at=iso(self._wall0), ended_at=iso(ended), member_no=self.member_no,
                path=self.path, outcome=outcome, actor=f"phone:{self.call_id}",
                timeline=self.timeline.ordered())
        except Exception:
            log.exception("call %s could not be recorded", self.call_id)

    def _fail_safe(self, *, hung_up: bool) -> None:
        """An unexpected error: apologise and say goodbye; never leave the caller hanging.

        What was already asked for this event stands (a barge-in stop, a prompt); the
        apology and the goodbye are queued after it."""
        try:
            if hung_up:
                self._end("error")
            elif self.state is not State.GOODBYE:  # in GOODBYE the grace timer hangs up
                if self.state is State.RECORDING:
                    self._out.append(StopRecording())
                self._lesson = None  # whatever failed may be in it: do not save it again
                self._say("phone.error")
                self._goodbye("error")
        except Exception:
            log.exception("phone dialog %s: fail-safe failed", self.call_id)
            self.state = State.ENDED
