"""Runs a phone call: the SIP line's audio and keys in, a dialog's actions out as speech.

    Line(dialog_factory, prompts, speech=None)   ``line.on_call`` is the Endpoint's handler
    serve(listen, line, register=None)           the ``lianxin phone --listen`` loop

The dialog (``voice.dialog``; the vocabulary in ``voice.dialog_types``) has no I/O: it gets
events (Digit, Phrase, Tick, PlayDone, AudioIn, HungUp, each stamped with ``t`` = seconds
since answer) and returns actions (PlayPrompt/PlayText/PlaySentence/PlayTone, StopPlaying,
Start/StopRecording, HangUp). This module is the only place the two meet:

* Audio out: prompts come from the ``PromptCache`` at 8 kHz (pre-rendered, so the greeting
  starts within a frame or two of answering); free text and lesson sentences are
  synthesised in a worker thread so the 20 ms RTP clock never waits on espeak-ng, and a
  lesson's next sentence is synthesised while the current one plays.
* Keys always work. Speech is extra: while the dialog offers phrases (``dialog.grammar``)
  and a speech engine is installed, the caller's audio goes to a recogniser in a worker
  thread; only a phrase that passed ``asr.verify`` becomes a ``Phrase`` event.
* ``PlayDone(seq)`` is sent when the playback queue runs empty; ``Tick`` every 250 ms.
* What the caller heard: for every play that began, ``Played(seq, start, end, cut)`` —
  it starts when it is handed to the call (or when the one before it ends) and ends when
  its last frame has gone out, or when a StopPlaying or the hang-up cuts it. The dialog
  keeps these in the call's timeline (``voice.dialog_timeline``).
* The dialog runs on one worker thread shared by all calls (``handle`` may take ~0.1 s: an
  argon2 PIN check, a store write), never on the event loop, which must stay free for the
  20 ms RTP clock. One thread keeps the store's use serial.
* Whatever the dialog raises, the caller is not left in silence: the call is ended with
  the goodbye prompt and the error logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from array import array
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from . import dialog_types as dt
from . import pcm as _pcm
from .asr import SpeechEngine
from .prompts import PromptCache
from .sip import Call, Endpoint, Registration

__all__ = ["DialogLike", "Line", "RATE_HZ", "parse_listen", "serve"]

log = logging.getLogger(__name__)
RATE_HZ = 8000
TICK_S = 0.25
SPEECH_RMS = 300.0       # 16-bit RMS above which a 20 ms frame counts as speech
END_QUIET_S = 0.3        # quiet after speech that ends an utterance


class DialogLike(Protocol):
    """What the line needs from a dialog (``voice.dialog.Dialog`` is one)."""

    def start(self, caller: str) -> list: ...
    def handle(self, event: dt.Event) -> list: ...


def tone(hz: int, ms: int, rate_hz: int = RATE_HZ, amplitude: int = 8000) -> bytes:
    n = rate_hz * ms // 1000
    ramp = max(1, rate_hz // 200)                     # 5 ms fade in/out: no click
    return array("h", (int(amplitude * min(1.0, i / ramp, (n - i) / ramp)
                           * math.sin(2 * math.pi * hz * i / rate_hz))
                       for i in range(n))).tobytes()


class Line:
    def __init__(self, dialog_factory: Callable[[Call], DialogLike], prompts: PromptCache,
                 speech: SpeechEngine | None = None):
        self.dialog_factory, self.prompts, self.speech = dialog_factory, prompts, speech
        self.active: dict[str, _CallRun] = {}
        self.dialog_thread = ThreadPoolExecutor(1, thread_name_prefix="lianxin-dialog")

    async def on_call(self, call: Call) -> None:
        run = _CallRun(self, call)
        self.active[call.call_id] = run
        try:
            await run.run()
        finally:
            self.active.pop(call.call_id, None)


class _CallRun:
    def __init__(self, line: Line, call: Call):
        self.line, self.call = line, call
        self.loop = asyncio.get_running_loop()
        self.t0 = call.answered_at or self.loop.time()
        self.dialog: DialogLike | None = None
        self.recording = False
        self.last_seq: int | None = None
        self.pending_synth: dict[str, asyncio.Future] = {}
        self.asr_queue: asyncio.Queue | None = None
        self.first_audio_at: float | None = None     # when the first prompt was queued
        self.plays: deque[list] = deque()            # [seq, start or None]: the call's queue
        self.heard: list[dt.Played] = []             # Played events owed to the dialog

    def now(self) -> float:
        return self.loop.time() - self.t0

    async def run(self) -> None:
        call, asr_task = self.call, None
        try:
            self.dialog = await self.in_dialog_thread(self.line.dialog_factory, call)
            await self.apply(await self.in_dialog_thread(self.dialog.start, call.caller))
            asr_task = (asyncio.ensure_future(self.recognise())
                        if self.line.speech is not None else None)
            # Ticks go by the clock, not by a quiet queue: the caller's RTP puts an audio
            # event in it every 20 ms, so "no event for 250 ms" never happens on a live call.
            next_tick = self.now() + TICK_S
            while True:
                if self.now() >= next_tick:
                    next_tick = self.now() + TICK_S
                    await self.send(dt.Tick(self.now()))
                try:
                    kind, value = await asyncio.wait_for(call.events.get(),
                                                         max(0.0, next_tick - self.now()))
                except TimeoutError:
                    continue
                if kind == "hangup":
                    if value != "local":
                        self.cut()
                        await self.apply([])
                        await self.in_dialog_thread(self.dialog.handle, dt.HungUp(self.now()))
                    break
                await self.event(kind, value)
        except Exception:
            log.exception("call %s: dialog failed; saying goodbye", call.call_id)
            with contextlib.suppress(Exception):
                call.stop_playing()
                call.play(await self.synth("phone.goodbye"), "error-goodbye")
                while (await call.events.get())[0] not in ("played", "hangup"):
                    pass
            call.hangup()
        finally:
            if asr_task is not None:
                asr_task.cancel()

    async def in_dialog_thread(self, fn, *args):
        return await self.loop.run_in_executor(self.line.dialog_thread, fn, *args)

    async def send(self, event) -> None:
        await self.apply(await self.in_dialog_thread(self.dialog.handle, event))

    async def event(self, kind: str, value) -> None:
        call = self.call
        if kind == "dtmf":
            await self.send(dt.Digit(value, self.now()))
        elif kind == "phrase":
            await self.send(dt.Phrase(value.phrase, value.confidence, self.now()))
        elif kind == "played":
            self.finished(value)
            await self.apply([])
            if not call.playing and isinstance(value, int):
                await self.send(dt.PlayDone(value, self.now()))
        elif kind == "audio":
            if self.recording:
                await self.send(dt.AudioIn(value, self.now()))
            elif self.asr_queue is not None and self.grammar():
                self.asr_queue.put_nowait((tuple(self.grammar()), value))

    def grammar(self) -> list[str]:
        g = getattr(self.dialog, "grammar", None)
        g = g() if callable(g) else g
        return list(g or [])

    def finished(self, seq) -> None:
        """The call sent the last frame of play ``seq``: it was heard whole."""
        now = self.now()
        if seq not in [p[0] for p in self.plays]:
            return  # a play already cut (its last frame went out as it was stopped)
        while self.plays:
            head, start = self.plays.popleft()
            if head == seq:
                self.heard.append(dt.Played(seq, now if start is None else start, now, False,
                                            now))
                break
        if self.plays:
            self.plays[0][1] = now

    def cut(self) -> None:
        """Whatever plays now stops here (barge-in, hang-up); what was queued was never heard."""
        now = self.now()
        if self.plays and self.plays[0][1] is not None:
            seq, start = self.plays[0]
            self.heard.append(dt.Played(seq, start, now, True, now))
        self.plays.clear()

    async def apply(self, actions) -> None:
        for action in actions or ():
            if isinstance(action, dt.StopPlaying):
                self.call.stop_playing()
                self.cut()
            elif isinstance(action, dt.StartRecording):
                self.recording = True
            elif isinstance(action, dt.StopRecording):
                self.recording = False
            elif isinstance(action, dt.HangUp):
                self.call.hangup()
            elif isinstance(action, dt.PLAYS):
                pcm = await self.audio_for(action)
                if self.first_audio_at is None:
                    self.first_audio_at = self.loop.time()
                self.call.play(pcm, action.seq)
                self.plays.append([action.seq, None if self.plays else self.now()])
            else:
                log.warning("call %s: unknown action %r ignored", self.call.call_id, action)
        while self.heard:
            await self.send(self.heard.pop(0))

    async def audio_for(self, action) -> bytes:
        if isinstance(action, dt.PlayPrompt):
            return await self.synth(action.prompt_id, **action.values)
        if isinstance(action, dt.PlayTone):
            return tone(action.hz, action.ms)
        if isinstance(action, dt.PlaySentence) and action.next_text:
            self.prefetch(action.next_text)
        return await self.speak(action.text)

    async def synth(self, prompt_id: str, **values) -> bytes:
        return await asyncio.to_thread(self.line.prompts.pcm, prompt_id, RATE_HZ, **values)

    def prefetch(self, text: str) -> None:
        if text not in self.pending_synth:
            self.pending_synth[text] = asyncio.ensure_future(
                asyncio.to_thread(self.line.prompts.speak, text, RATE_HZ))

    async def speak(self, text: str) -> bytes:
        fut = self.pending_synth.pop(text, None)
        if fut is not None:
            return await fut
        return await asyncio.to_thread(self.line.prompts.speak, text, RATE_HZ)

    async def recognise(self) -> None:
        """Caller audio -> recogniser (worker thread) -> ("phrase", Decision) events.

        The end of an utterance is found here, by loudness: after speech, END_QUIET_S of
        quiet ends it and the decoder is asked for its answer at once. Waiting for vosk's
        own end-pointing (0.5 s of trailing silence in the model's config, more in noise)
        would make the caller wait past the 400 ms a reply should take.
        """
        self.asr_queue = asyncio.Queue()
        stream, current, chunk, spoke, quiet = None, None, [], False, 0
        while True:
            grammar, pcm = await self.asr_queue.get()
            if grammar != current:
                current, chunk, spoke, quiet = grammar, [], False, 0
                stream = await asyncio.to_thread(self.line.speech.stream, list(grammar), RATE_HZ)
            loud = _pcm.rms(pcm) >= SPEECH_RMS
            spoke, quiet = spoke or loud, 0 if loud else quiet + 1
            chunk.append(pcm)
            ended = spoke and quiet * len(pcm) / 2 / RATE_HZ >= END_QUIET_S
            if len(chunk) < 5 and not self.asr_queue.empty() and not ended:
                continue
            data, chunk = b"".join(chunk), []
            decision = await asyncio.to_thread(stream.feed, data)
            if ended and decision is None:
                decision = await asyncio.to_thread(stream.finish)
            if ended or decision is not None:
                spoke, quiet = False, 0
                stream = await asyncio.to_thread(self.line.speech.stream, list(grammar), RATE_HZ)
            if decision is not None and decision.accepted:
                self.call._event("phrase", decision)
            elif decision is not None:
                log.info("call %s: heard %r (%.2f), not a valid phrase", self.call.call_id,
                         decision.text, decision.confidence)


def parse_listen(listen: str) -> tuple[str, int]:
    """"HOST:PORT" (or ":PORT", "[::1]:PORT") -> (host, port); the default port is 5060."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = listen, "5060"
    host = host.strip("[]") or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"bad --listen {listen!r}: want HOST:PORT")
    return host, int(port)


async def serve(listen: str, line: Line, *, advertise: str | None = None,
                register: dict | None = None, stop: asyncio.Event | None = None) -> None:
    """Run the line until ``stop`` is set (or forever). ``register`` holds Registration's
    keyword arguments (registrar, user, password, domain, expires) to sign in to a trunk."""
    host, port = parse_listen(listen)
    if line.speech is not None and hasattr(line.speech, "load"):
        await asyncio.to_thread(line.speech.load)     # ~1.5 s, before the first caller
    endpoint = Endpoint(host, port, on_call=line.on_call, advertise=advertise)
    await endpoint.start()
    reg_task = None
    if register:
        reg = Registration(endpoint, **register)
        reg_task = asyncio.ensure_future(reg.run())
    try:
        await (stop.wait() if stop is not None else asyncio.Event().wait())
    finally:
        if reg_task is not None:
            reg_task.cancel()
            with contextlib.suppress(Exception):
                await reg.stop()
        await endpoint.stop()
