"""Kiosk benchmarks: cold start, touch -> next screen drawn, screen shown -> first audio,
and how long each screen's prompt lasts.

    python -m bench.bench_kiosk [--starts N] [--rounds N] [--json]

Everything runs the real app offscreen (SDL ``offscreen`` + Mesa llvmpipe, see
``kiosk/README.md``) on a demo branch in a temporary folder:

* **cold start** (target <= 2 s): a fresh ``python`` process per run, timed by the parent
  from just before it is spawned to the child's report. The child does what
  ``lianxin kiosk`` does (prepares Kivy, opens the terminal's encrypted store, opens the
  speaker on the shared prompt cache and the best player here, runs ``KioskApp`` in Kivy's
  own main loop) and reports, on ``time.monotonic`` (one clock for both processes), when
  the first frame showing home was flipped and when a touch on 支部通知 posted after it had
  been handled and the notices screen drawn ("interactive"). Median of N runs; the first
  run (coldest caches) is shown too.
* **touch -> next screen drawn** (target <= 100 ms median): in this process, a journey of
  real touch events (who are you, surname, name, PIN keypad, status, study, notices,
  member-number keypad, 回首页) repeated; each time from posting the touch to the flip of
  the first frame in which the new screen is current and its transition has finished.
  Frames are drawn by Kivy's ``EventLoop.idle`` at its usual 60 fps pacing, so a figure
  includes the wait for the next frame (up to 16.7 ms), as on a real screen. The PIN's
  4th digit includes an argon2id check (timed on its own too).
* **screen shown -> first audio sample of its prompt** (target <= 150 ms): the real
  ``kiosk.speech.Speaker`` on a ``PromptCache`` pre-rendered with every text said (real
  espeak-ng; misses while timed are counted) and a recording ``NullPlayer`` (no sound card
  here; it keeps time as if it played). Headline: every registered screen opened by
  ``app.show`` with nothing else being said, from the ``show`` call to the moment its
  prompt's first piece is handed to the player (and the same relative to the frame that
  shows the screen: negative when the sound starts first). Also given: touch -> first sound
  (the pressed button's label), and, for screens opened by a touch, when their prompt
  starts after the frame: the Speaker queues it behind the label, so that is about the
  label's length.

* **prompt seconds per screen** (target <= 8 s each): every registered screen's prompt as
  ``lianxin kiosk --audit`` measures it (``kiosk.usability.PromptTimer``: real espeak-ng
  at the kiosk's default rate, sentence by sentence; the longest over the audit's sizes
  and text steps), each screen and the max and median over screens.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_START_TARGET_S = 2.0
PROMPT_TARGET_S = 8.0
TOUCH_TARGET_MS = 100.0
FIRST_AUDIO_TARGET_MS = 150.0
ROOT = Path(__file__).resolve().parent.parent

# (what to touch, the screen it leads to or None when it stays). "张…" is the surname button.
# A member's PIN is taken at its 4th digit: that key opens the next screen.
DIGITS = [(d, None) for d in "123"]
JOURNEY = [("我的情况", "who"), ("张…", "names"), ("张三丰", "pin"), *DIGITS,
           ("4", "status"), ("回首页", "home"),
           ("支部通知", "notices"), ("回首页", "home"),
           ("学习", "who"), ("张…", "names"), ("张三丰", "pin"), *DIGITS,
           ("4", "study"), ("回首页", "home"),
           ("交党费", "who"), ("输入党员编号", "number"), ("回首页", "home")]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _summary(values_ms: list[float]) -> dict:
    values = sorted(values_ms)
    return {"n": len(values), "median_ms": round(statistics.median(values), 1),
            "p90_ms": round(values[int(0.9 * (len(values) - 1))], 1),
            "max_ms": round(values[-1], 1)}


def _post_tap(x: float, y: float) -> None:
    """A finger down and up at window coordinates, dispatched now (no frame, no clock tick:
    unlike ``drive.tap_at``, which settles the clock after it)."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk import drive

    pos = (x / (Window.width - 1), y / (Window.height - 1))
    touch = drive._Touch("bench", next(drive._touch_ids), pos)
    EventLoop.post_dispatch_input("begin", touch)
    touch.move(pos)
    EventLoop.post_dispatch_input("end", touch)


def _button(root, label: str):
    from kiosk import drive

    if label.endswith("…"):
        found = [b for b in drive.buttons(root) if getattr(b, "text", "").startswith(label[:-1])]
        if not found:
            raise ValueError(f"no button starting with {label[:-1]!r}")
        return found[0]
    return drive.find(root, label)


def _settled(manager, name: str) -> bool:
    return (manager.current == name and not manager.transition.is_active
            and manager.current_screen is not None and manager.current_screen.name == name)


# -- cold start ---------------------------------------------------------------------------------
def _child(db: str) -> None:
    """The cold-start child: ``lianxin kiosk``'s path, reporting its marks as one JSON line."""
    marks = {"script": time.monotonic()}
    from kiosk.headless import prepare

    prepare(fullscreen=True)            # what kiosk.entry does (offscreen with no display)
    from cli.main import Context

    store = Context(Path(db)).store()
    marks["store"] = time.monotonic()
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk import drive
    from kiosk.app import KioskApp

    try:   # the real voice as the kiosk opens it: the shared prompt cache, the best player
        from cli.voice_cmds import prompt_cache
        from kiosk.speech import open_speaker

        speak = open_speaker(prompt_cache(Path(db)))[0]
    except ImportError:
        from kiosk.entry import log_speaker as speak
    marks["imported"] = time.monotonic()

    class TimedApp(KioskApp):
        def on_start(self):
            super().on_start()
            marks["on_start"] = time.monotonic()
            Window.bind(on_flip=self._flipped)

        def _flipped(self, *_args):
            now = time.monotonic()
            if "home" not in marks and _settled(self.manager, "home"):
                marks["home"] = now
                Clock.schedule_once(self._touch, 0)
            elif "touch" in marks and "notices" not in marks and _settled(self.manager, "notices"):
                marks["notices"] = now
                self.stop()

        def _touch(self, _dt):
            marks["touch"] = time.monotonic()
            button = _button(self.root, "支部通知")
            _post_tap(*drive.window_pos(button, *button.center))

    TimedApp(store, speak=speak).run()
    print(json.dumps(marks), flush=True)
    os._exit(0)                        # the figures are out; skip Kivy's slow teardown


def _demo_db(folder: Path) -> Path:
    from core import demo
    from core.clock import FixedClock
    from core.store import Store
    from kiosk.entry import DEMO_NOW

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "terminal.db"
    store = Store.create(path, clock=FixedClock(DEMO_NOW))
    demo.load(store)
    store.close()
    return path


def cold_start(folder: Path, runs: int) -> dict:
    db = _demo_db(folder)
    env = dict(os.environ, KIVY_HOME=str(folder / "kivy-home"))   # one config, like a real terminal
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    rows = []
    for _ in range(runs):
        t0 = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bench.bench_kiosk", "--child", str(db)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"cold-start child failed ({done.returncode}): {done.stderr[-1500:]}")
        m = json.loads(lines[-1])
        rows.append({"interpreter_ms": _ms(m["script"] - t0),
                     "store_open_ms": _ms(m["store"] - m["script"]),
                     "kivy_app_voice_ms": _ms(m["imported"] - m["store"]),
                     "home_drawn_ms": _ms(m["home"] - t0),
                     "interactive_ms": _ms(m["notices"] - t0),
                     "first_touch_ms": _ms(m["notices"] - m["touch"])})
    med = {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
    return {"runs": runs, "median": med, "first_run": rows[0],
            "target_s": COLD_START_TARGET_S,
            "ratio": round(med["interactive_ms"] / 1000 / COLD_START_TARGET_S, 2)}


# -- touches and first audio ----------------------------------------------------------------------
class RecordingPlayer:
    """A NullPlayer (keeps time as if it played) that notes each sound it is handed."""

    def __init__(self):
        from voice.audio import NullPlayer

        self._inner = NullPlayer()
        self.started: list[tuple[float, bytes]] = []

    def play(self, pcm: bytes, rate_hz: int) -> None:
        self.started.append((time.perf_counter(), pcm))
        self._inner.play(pcm, rate_hz)

    def stop(self) -> None:
        self._inner.stop()

    def is_playing(self) -> bool:
        return self._inner.is_playing()


class CountingEngine:
    """The real engine, counting syntheses (a cache miss during the timed parts)."""

    def __init__(self, engine):
        self._engine = engine
        self.calls = 0

    @property
    def identity(self) -> str:
        return self._engine.identity

    def synthesize(self, text: str, rate_hz: int) -> bytes:
        self.calls += 1
        return self._engine.synthesize(text, rate_hz)


class Voice:
    """The kiosk's speech as the bench drives it: the real ``kiosk.speech.Speaker`` on a
    pre-rendered ``PromptCache`` and a ``RecordingPlayer``; every text said is noted."""

    def __init__(self, folder: Path):
        from kiosk.speech import Speaker
        from voice.prompts import CATALOGUE, PromptCache
        from voice.tts import Pyttsx3Engine

        self.engine = CountingEngine(Pyttsx3Engine())
        self.cache = PromptCache(folder / "cache", self.engine, overrides_dir=folder / "overrides",
                                 catalogue=CATALOGUE)
        self.player = RecordingPlayer()
        # 16 kHz: what kiosk.speech.device_rate gives without a sound card (this machine).
        self.speaker = Speaker(self.cache, self.player)
        self.rate = self.speaker.rate_hz
        self.fixed = {t: pid for pid, t in self.cache.catalogue.items() if "{" not in t}
        self.texts: list[str] = []
        self.rendered: set[str] = set()

    def restart(self, app) -> None:
        """A new Speaker with an empty memory (the disk cache stays)."""
        from kiosk.speech import Speaker

        self.speaker.close()
        self.speaker = Speaker(self.cache, self.player, rate_hz=self.rate)
        self.speaker.start(app)

    def __call__(self, text: str) -> None:
        self.texts.append(text)
        self.speaker(text)

    def note_buttons(self, root) -> None:
        """The words the Speaker renders ahead when a screen opens (its buttons')."""
        from kiosk import drive

        self.texts += [getattr(b, "spoken", "") or getattr(b, "text", "")
                       for b in drive.buttons(root)]

    def first_piece_pcm(self, text: str) -> bytes:
        """What the Speaker hands the player first for ``text`` (at volume 3, gain 1)."""
        from voice.speech_text import sentences

        if text in self.fixed:
            return self.cache.pcm(self.fixed[text], self.rate)
        return self.cache.speak((sentences(text) or [text])[0], self.rate)

    def prerender(self) -> None:
        from voice.speech_text import sentences

        for text in set(self.texts) - self.rendered:
            self.rendered.add(text)
            if not text.strip():
                continue
            if text in self.fixed:
                self.cache.pcm(self.fixed[text], self.rate)
            else:
                for piece in sentences(text) or [text]:
                    self.cache.speak(piece, self.rate)

    def heard_at(self, pcm: bytes, since: float, timeout: float = 8.0) -> float | None:
        """When ``pcm`` was handed to the player after ``since`` (waits for it)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            for t, played in self.player.started:
                if t >= since and played == pcm:
                    return t
            time.sleep(0.002)
        return None


def _draw_until(app, target: str, flips: list[float]) -> float:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    Window.canvas.ask_update()          # a frame even when nothing changed (home -> home)
    before = len(flips)
    for _frame in range(30):
        EventLoop.idle()
        if len(flips) > before and (target is None or _settled(app.manager, target)):
            return flips[-1]
    raise RuntimeError(f"never drawn: {target!r} (on {app.manager.current!r})")


def _walk_journey(app, rounds: int, flips: list[float], on_switch=None) -> tuple[list, list]:
    """Touch through JOURNEY ``rounds`` times; (screen-switch rows, keypad press times in ms)."""
    from kiosk import drive

    switches, presses = [], []
    for n in range(rounds):
        for label, target in JOURNEY:
            button = _button(app.root, label)
            x, y = drive.window_pos(button, *button.center)
            t0 = time.perf_counter()
            _post_tap(x, y)
            t_handled = time.perf_counter()
            drawn = _draw_until(app, target, flips)
            if target is None:
                presses.append(_ms(drawn - t0))
                continue
            row = {"screen": target, "t0": t0, "handled": t_handled, "drawn": drawn, "round": n}
            switches.append(row)
            if on_switch:
                on_switch(row)
    return switches, presses


def _show_each(app, voice: Voice, flips: list[float]) -> list[dict]:
    """Every registered screen opened by ``app.show`` with nothing else being said (as the
    idle watch or a finished step opens one): show() -> its prompt's first sample.

    Each screen is shown with its sample once to say and render its words (taking a sample
    can change the store: the quiz result's records a study session, so the next screens'
    words change), then home, then again with the same sample on a fresh Speaker, timed."""
    from kiosk import drive
    from kiosk.screens import REGISTRY, screen_class

    rows, misses = [], 0
    for name in REGISTRY:
        args = screen_class(name).sample(app)
        screen = app.show(name, **args)
        drive.pump(2)
        voice.note_buttons(app.root)
        voice.texts.append(screen.prompt_text())
        voice.prerender()
        app.show("home")
        _draw_until(app, "home", flips)
        voice.restart(app)
        calls = voice.engine.calls
        t0 = time.perf_counter()
        screen = app.show(name, **args)
        drawn = _draw_until(app, name, flips)
        heard = voice.heard_at(voice.first_piece_pcm(screen.prompt_text()), t0)
        misses += voice.engine.calls - calls
        rows.append({"screen": name, "t0": t0, "drawn": drawn, "heard": heard})
    app.go_home()
    _draw_until(app, "home", flips)
    return rows, misses


def touches_and_audio(folder: Path, rounds: int) -> dict:
    from kiosk.headless import prepare

    prepare(headless=True)
    from kivy.core.window import Window

    from core import members, pins
    from core.clock import FixedClock
    from core.store import Store
    from kiosk import drive
    from kiosk.app import KioskApp
    from kiosk.entry import DEMO_NOW

    store = Store.open(_demo_db(folder / "touch"), clock=FixedClock(DEMO_NOW))
    voice = Voice(folder)
    app = KioskApp(store, speak=voice)
    flips: list[float] = []
    flipped = lambda *_a: flips.append(time.perf_counter())   # noqa: E731
    Window.bind(on_flip=flipped)
    try:
        with drive.running(app):
            voice.speaker.start(app)   # what KioskApp does for a speak with start(); ours wraps it
            direct, direct_misses = _show_each(app, voice, flips)
            # The journey's texts are said once and rendered (the cache a terminal has after
            # `lianxin voice prerender` and a day of use), then a fresh Speaker (nothing in
            # its memory: a prompt's first time is read from the cache on disk) is timed.
            t_pre = time.perf_counter()
            noting = lambda *_a: voice.note_buttons(app.root)   # noqa: E731
            app.manager.bind(current=noting)
            _walk_journey(app, 1, flips)
            app.manager.unbind(current=noting)
            voice.prerender()
            prerender_s = time.perf_counter() - t_pre
            voice.restart(app)
            voice.engine.calls = 0
            heard = []

            def on_switch(row):
                if row["round"]:
                    return              # the prompts are waited for in the first round only
                prompt = app.current.prompt_text()
                t = voice.heard_at(voice.first_piece_pcm(prompt), row["t0"])
                if t is not None:
                    heard.append((row, t))

            switches, presses = _walk_journey(app, rounds, flips, on_switch)
            misses = voice.engine.calls + direct_misses
            # The PIN's 4th digit waits for argon2id (core.pins, deliberately slow): timed alone.
            member_no = members.list_all(store)[0]["member_no"]
            pin_ms = []
            for _ in range(5):
                t = time.perf_counter()
                pins.verify(store, "member", member_no, "1234")
                pin_ms.append(_ms(time.perf_counter() - t))
            voice.speaker.close()
    finally:
        Window.unbind(on_flip=flipped)
        store.close()

    touch_ms = [_ms(r["drawn"] - r["t0"]) for r in switches]
    per_screen = {}
    for name in sorted({r["screen"] for r in switches}):
        mine = [_ms(r["drawn"] - r["t0"]) for r in switches if r["screen"] == name]
        per_screen[name] = {"touch_median_ms": round(statistics.median(mine), 1),
                            "touch_max_ms": max(mine)}
    touch = _summary(touch_ms)
    # Touch -> the first sound after it (the pressed button's label), before the next touch.
    starts = [t for t, _pcm in voice.player.started]
    first_sound = []
    for i, r in enumerate(switches):
        until = switches[i + 1]["t0"] if i + 1 < len(switches) else float("inf")
        after = [t for t in starts if r["t0"] <= t < until]
        if after:
            first_sound.append(_ms(after[0] - r["t0"]))
    after_label = [_ms(t - r["drawn"]) for r, t in heard]
    direct_heard = [r for r in direct if r["heard"] is not None]
    vs_frame = [_ms(r["heard"] - r["drawn"]) for r in direct_heard]
    audio = _summary([_ms(r["heard"] - r["t0"]) for r in direct_heard])
    return {
        "touch_to_next_screen": dict(
            touch, target_ms=TOUCH_TARGET_MS, ratio=round(touch["median_ms"] / TOUCH_TARGET_MS, 2),
            per_screen=per_screen,
            handled_median_ms=_summary([_ms(r["handled"] - r["t0"]) for r in switches])["median_ms"],
            pin_check_median_ms=round(statistics.median(pin_ms), 1)),
        "keypad_press_to_frame": _summary(presses),
        "screen_to_first_audio": dict(
            audio, target_ms=FIRST_AUDIO_TARGET_MS,
            ratio=round(audio["median_ms"] / FIRST_AUDIO_TARGET_MS, 2),
            vs_drawn_frame=_summary(vs_frame),
            screens=len(direct),
            prompts_not_heard=[r["screen"] for r in direct if r["heard"] is None],
            speaker=f"kiosk.speech.Speaker, PromptCache pre-rendered at {voice.rate} Hz, "
                    "recording NullPlayer"),
        "touch_to_first_sound": _summary(first_sound),
        "opened_by_touch_prompt_after_frame": dict(
            _summary(after_label) if after_label else {"n": 0},
            prompts_not_heard=sum(1 for r in switches if r["round"] == 0) - len(heard)),
        "cache_misses_while_timed": misses,
        "prerender_s": round(prerender_s, 1),
    }


def prompt_seconds(folder: Path) -> dict:
    """Each screen's prompt and its length said by the real engine, as the audit measures."""
    from kiosk.headless import prepare

    prepare(headless=True)
    from core.clock import FixedClock
    from core.store import Store
    from kiosk import drive, usability
    from kiosk.app import KioskApp
    from kiosk.entry import DEMO_NOW

    store = Store.open(_demo_db(folder / "prompts"), clock=FixedClock(DEMO_NOW))
    try:
        with drive.running(KioskApp(store, speak=lambda _text: None)) as app:
            rows = usability.run(app)
    finally:
        store.close()
    secs = {r["screen"]: r["prompt_s"] for r in rows if r["prompt_s"] is not None}
    values = sorted(secs.values())
    return {"per_screen": secs, "prompts": {r["screen"]: r["prompt"] for r in rows},
            "max_s": values[-1], "median_s": round(statistics.median(values), 2),
            "worst": max(secs, key=secs.get), "target_s": PROMPT_TARGET_S,
            "over_target": [s for s, v in secs.items() if v > PROMPT_TARGET_S],
            "engine": "espeak-ng (voice.tts.Pyttsx3Engine), default rate"}


def _print(out: dict) -> None:
    c = out["cold_start"]
    m = c["median"]
    print(f"cold start to interactive home   median {m['interactive_ms'] / 1000:.2f} s over "
          f"{c['runs']} runs (first run {c['first_run']['interactive_ms'] / 1000:.2f} s); "
          f"target <= {c['target_s']} s; ratio {c['ratio']}")
    print(f"    interpreter {m['interpreter_ms']} ms, store open {m['store_open_ms']} ms, "
          f"Kivy + app + voice {m['kivy_app_voice_ms']} ms, home drawn at "
          f"{m['home_drawn_ms']} ms, first touch handled and drawn in {m['first_touch_ms']} ms")
    t = out["touch_to_next_screen"]
    print(f"touch -> next screen drawn       median {t['median_ms']} ms (p90 {t['p90_ms']}, "
          f"max {t['max_ms']}, n={t['n']}); target <= {t['target_ms']} ms; ratio {t['ratio']}")
    print(f"    touch handled (screen filled, switched) in {t['handled_median_ms']} ms median; "
          f"a PIN check (argon2id, behind the 4th digit -> status/study) takes {t['pin_check_median_ms']} ms")
    for name, row in t["per_screen"].items():
        print(f"    -> {name:<8} touch median {row['touch_median_ms']:>6} ms, max "
              f"{row['touch_max_ms']:>6} ms")
    k = out["keypad_press_to_frame"]
    print(f"keypad press -> frame drawn      median {k['median_ms']} ms (max {k['max_ms']}, n={k['n']})")
    a = out["screen_to_first_audio"]
    print(f"screen shown -> first audio      median {a['median_ms']} ms (p90 {a['p90_ms']}, "
          f"max {a['max_ms']}, n={a['n']} screens opened by show()); target <= "
          f"{a['target_ms']} ms; ratio {a['ratio']}")
    f = a["vs_drawn_frame"]
    print(f"    relative to the frame that shows the screen: median {f['median_ms']} ms, max "
          f"{f['max_ms']} ms (negative: the sound starts first); prompts not heard "
          f"{a['prompts_not_heard'] or 'none'}; speaker: {a['speaker']}")
    s = out["touch_to_first_sound"]
    print(f"touch -> first sound (its label) median {s['median_ms']} ms (max {s['max_ms']}, n={s['n']})")
    o = out["opened_by_touch_prompt_after_frame"]
    if o["n"]:
        print(f"screen opened by a touch: its prompt starts {o['median_ms']} ms after the frame "
              f"(median; max {o['max_ms']}, n={o['n']}, first journey), queued behind the "
              f"spoken label; not heard {o['prompts_not_heard']}")
    print(f"cache misses while timed: {out['cache_misses_while_timed']}; "
          f"journey warm-up + pre-render {out['prerender_s']} s")
    p = out["prompt_seconds"]
    print(f"prompt seconds per screen        max {p['max_s']} s ({p['worst']}), median "
          f"{p['median_s']} s over {len(p['per_screen'])} screens; target <= {p['target_s']} s "
          f"each; over: {p['over_target'] or 'none'}; {p['engine']}")
    for name, s in p["per_screen"].items():
        print(f"    {name:<15} {s:>5.2f} s  {p['prompts'][name]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="cold starts (median)")
    parser.add_argument("--rounds", type=int, default=4,
                        help=f"journeys ({sum(1 for _l, t in JOURNEY if t)} screen switches each)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
    with tempfile.TemporaryDirectory(prefix="lianxin-bench-kiosk-") as tmp:
        out = {"cold_start": cold_start(Path(tmp) / "cold", args.starts)}
        out.update(touches_and_audio(Path(tmp), args.rounds))
        out["prompt_seconds"] = prompt_seconds(Path(tmp))
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        _print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
