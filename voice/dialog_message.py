"""Voice messages for the staff: the steps of ``Dialog`` for MESSAGE_ASK and RECORDING.

A mixin of ``voice.dialog.Dialog`` (see ``dialog_identify`` for why).

Instructions, then a tone, then the caller's audio is kept until #, ``MAX_RECORD_S`` or the
hang-up (a message is kept when the caller hangs up instead of pressing #: older callers
often do). A key during the instructions skips to the tone; a key during the tone starts
recording at once. Less than ``MIN_MESSAGE_S`` of audio, or audio below ``SILENT_RMS``
(line noise), is not kept, and the caller is told. Storage and consent are
``core.calls``'s: a member who withdrew ``voice_messages`` is told before recording starts.
"""

from __future__ import annotations

from core import calls
from core.errors import ConsentError

from . import pcm as _pcm
from .dialog_types import PlayTone, StartRecording, State, StopRecording

MAX_RECORD_S = 120.0
MIN_MESSAGE_S = 1.0
SILENT_RMS = 30.0         # below this a "message" is line noise


class MessageSteps:
    """Steps of ``Dialog`` that record a message for the staff."""

    def _message(self) -> None:
        if not calls.messages_allowed(self.store, self.member_no):
            self._mark("message_refused")
            self._say("message.no_consent")
            self._enter(State.MENU)
            return
        self._enter(State.MESSAGE_ASK)

    def _tone(self) -> None:
        self._out.append(PlayTone(self._next_seq()))
        self._tone_seq = self._seq

    def _after_instructions(self, seq: int) -> None:
        if seq == self._tone_seq:
            self._start_recording()
        else:
            self._tone()

    def _key_message_ask(self, key: str) -> None:
        tone_playing = self._pending is not None and self._pending == self._tone_seq
        self._stop()
        if tone_playing:
            self._start_recording()
        else:
            self._tone()

    def _start_recording(self) -> None:
        self._out.append(StartRecording())
        self._enter(State.RECORDING, announce=False)
        self._audio = bytearray()
        self._rec_start = self._t

    def _on_audio(self, pcm: bytes) -> None:
        room = int(MAX_RECORD_S * self.rate_hz) * 2 - len(self._audio)
        self._audio += pcm[:max(0, room)]
        if self._t - self._rec_start >= MAX_RECORD_S or room <= len(pcm):
            self._finish_recording()

    def _recording_tick(self) -> None:
        if self._t - self._rec_start >= MAX_RECORD_S:
            self._finish_recording()

    def _key_recording(self, key: str) -> None:
        if key == "#":
            self._finish_recording()

    def _finish_recording(self, *, tell: bool = True) -> None:
        self._out.append(StopRecording())
        audio, self._audio = bytes(self._audio), bytearray()
        if len(audio) < MIN_MESSAGE_S * self.rate_hz * 2 or _pcm.rms(audio) < SILENT_RMS:
            self._mark("message_empty")
            prompt = "message.empty"
        else:
            try:
                calls.save_message(self.store, audio, self.rate_hz, caller=self.caller,
                                   member_no=self.member_no, call_id=self.call_id,
                                   actor=f"phone:{self.call_id}")
            except ConsentError:
                self._mark("message_refused")
                prompt = "message.no_consent"
            else:
                self._mark("message_saved")
                prompt = "message.saved"
        if not tell:  # the caller hung up: nobody to tell
            return
        self._say(prompt)
        if self.member_no:
            self._enter(State.MENU)
        else:
            self._goodbye("completed")
