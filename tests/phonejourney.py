"""A member calls the phone line for their dues: baresip on 127.0.0.1 against the real
dialog on a store, as a patient caller or a barge-in caller.

Not a test module: helpers imported by ``test_phone_journeys.py`` and
``bench/bench_phone.py``. Timings come from the call's timeline (``calls.get_call``) and
are checked against the audio the caller received (baresip's dump, 20 ms frames).

* patient: waits for every prompt to end (the line's PlayDone: the last frame has gone
  out, its trailing pause included — about the half second a listener takes to begin
  typing), then types, 0.35 s a key;
* barge-in: types 0.6 s into each prompt.

Both hang up once the dues sentence has been heard (plus ``linger_s``).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from pathlib import Path

from sipcallers import Baresip, frame_rms

from core import calls
from voice import dialog_types as dt
from voice.dialog import Dialog, State
from voice.pcm import read_wav, wav_bytes
from voice.phone import Line
from voice.sip import Endpoint

KEY_GAP_S = 0.35
BARGE_IN_S = 0.6


class JourneyDialog(Dialog):
    """The real dialog, also keeping the events it was told (not audio or Ticks)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events: list = []
        self.actions: list = []

    def start(self, caller, t=0.0):
        out = super().start(caller, t)
        self.actions.extend(out)
        return out

    def handle(self, event):
        out = super().handle(event)
        if not isinstance(event, dt.Tick | dt.AudioIn):
            self.events.append(event)
        self.actions.extend(out)
        return out

    def plays(self) -> list[int]:
        return [a.seq for a in list(self.actions) if isinstance(a, dt.PLAYS)]

    def last_play_done(self) -> bool:
        plays = self.plays()
        done = {e.seq for e in list(self.events) if isinstance(e, dt.PlayDone)}
        return bool(plays) and plays[-1] in done

    def heard(self, what: str) -> bool:
        return any(e["id"] == what for e in self.timeline.entries if e["kind"] == "say")


class CallerAs(Baresip):
    """baresip whose SIP From user is ``user`` (a caller number it claims)."""

    def __init__(self, folder: Path, mic_wav: Path, user: str = "caller"):
        super().__init__(folder, mic_wav)
        (self.folder / "accounts").write_text(
            f"<sip:{user}@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA\n")


async def until(check, what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"never happened: {what}")


@dataclass
class Journey:
    record: dict
    heard: bytes                      # what the caller received, 16-bit 8 kHz
    dialog: JourneyDialog
    says: list[dict] = field(default_factory=list)

    def said(self, what: str) -> dict:
        return next(e for e in self.record["timeline"] if e["kind"] == "say" and e["id"] == what)

    @property
    def dues_s(self) -> float:
        """Seconds from answer to the end of the dues sentence (its amount is its end)."""
        return self.said("dues")["end_ms"] / 1000


def journey(store, prompts, folder: Path, *, style: str = "patient", number: str = "4",
            pin: str = "1234", after_pin: str = "", user: str = "caller",
            wait_for: str = "dues", linger_s: float = 0.5) -> Journey:
    """One call, start to hang-up; see the module docstring."""
    folder.mkdir(parents=True, exist_ok=True)
    mic = folder / "mic.wav"
    mic.write_bytes(wav_bytes(bytes(8000 * 2 * 60), 8000))
    dialogs: list[JourneyDialog] = []

    def factory(call):
        dialogs.append(JourneyDialog(store, rate_hz=8000, call_id=call.call_id))
        return dialogs[-1]
    line = Line(factory, prompts)

    async def main():
        ep = Endpoint("127.0.0.1", 0, on_call=line.on_call)
        await ep.start()
        caller = CallerAs(folder / "baresip", mic, user)
        await caller.start()
        try:
            caller.command("dial", f"sip:ivr@127.0.0.1:{ep.port}")
            await caller.wait_event("CALL_ESTABLISHED")
            await until(lambda: dialogs and dialogs[0].actions, "the first prompt")
            d = dialogs[0]

            async def when_ready(after: int):
                await until(lambda: len(d.plays()) > after, "the next prompt")
                if style == "patient":
                    await until(d.last_play_done, "the prompt to end")
                else:
                    await asyncio.sleep(BARGE_IN_S)

            if d.state is State.ASK_NUMBER:
                await when_ready(0)
                asked = len(d.plays())
                await caller.keys(number + "#", gap=KEY_GAP_S)
            else:
                asked = 0
            await when_ready(asked)
            await caller.keys(pin + after_pin, gap=KEY_GAP_S)
            await until(lambda: d.heard(wait_for) or d.ended, f"{wait_for} heard")
            await asyncio.sleep(linger_s)
            if not d.ended:
                caller.command("hangup")
            await caller.wait_event("CALL_CLOSED", timeout=30)
            await until(lambda: d.ended and not line.active, "the call recorded", 10)
        finally:
            await caller.stop()
            await ep.stop()
        return caller

    caller = asyncio.run(asyncio.wait_for(main(), 120))
    heard, rate = read_wav(caller.heard())
    assert rate == 8000
    d = dialogs[0]
    return Journey(calls.get_call(store, d.call_id), heard, d)


def _envelope(pcm: bytes) -> list[float]:
    return [math.log10(1.0 + v) for v in frame_rms(pcm, 8000)]


def _corr(a: list[float], b: list[float]) -> float:
    n = min(len(a), len(b))
    if n < 10:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    va = math.sqrt(sum((x - ma) ** 2 for x in a))
    vb = math.sqrt(sum((y - mb) ** 2 for y in b))
    if va == 0 or vb == 0:
        return 0.0
    return sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True)) / (va * vb)


def locate(heard: bytes, entry: dict, prompts, max_lag_ms: int = 400) -> tuple[int, float]:
    """Where the timeline says a prompt played, find it in what the caller received: the
    lag (ms, received minus timeline) at which the prompt's own audio matches best, and
    how well (correlation of 20 ms loudness envelopes, 1.0 = the same shape)."""
    ref = _envelope(prompts.speak(entry["text"], 8000))
    got = _envelope(heard)
    at = round(entry["t_ms"] / 20)
    best = (0, -1.0)
    for lag in range(-max_lag_ms // 20, max_lag_ms // 20 + 1):
        if at + lag < 0:
            continue
        c = _corr(ref, got[at + lag:at + lag + len(ref)])
        if c > best[1]:
            best = (lag * 20, c)
    return best
