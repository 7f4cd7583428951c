"""Speech-out benchmarks: a 100-character sentence cold vs cached, and time to first audio.

    python -m bench.bench_tts [--repeat N] [--json] [--dir PATH]

Uses the real engine (pyttsx3 over espeak-ng, cmn-latn-pinyin, 130 wpm) and a real prompt
cache folder (a temporary one unless --dir), and times:

  * synthesis of a 100-character Chinese sentence at 8 kHz (phone) and 16 kHz, split into
    espeak-ng time (native 22 050 Hz) and resampling time;
  * the same sentence through the prompt cache: first call (render + store) vs later calls
    (read the WAV back), and the ratio;
  * time to first audio of a cached fixed prompt (``phone.welcome`` at 8 kHz): the part of
    "answer -> first prompt audio" (target <= 500 ms) that speech out is responsible for.

Benchmarks report; they do not gate: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from voice.pcm import duration_s, resample
from voice.prompts import PromptCache
from voice.tts import NATIVE_RATE, Pyttsx3Engine

# 100 characters (punctuation included), the length of a lesson sentence read on the phone.
SENTENCE = ("各位党员同志，本月的主题党日活动安排在十五日上午九点，地点在村委会二楼会议室，"
            "请大家准时参加。不方便出门的老党员，可以打电话收听学习内容，也可以请家人代为请假，"
            "支部会按时把学习资料送到您的家里，谢谢。")
FIRST_AUDIO_TARGET_MS = 500.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def run(folder: Path, repeat: int) -> dict:
    assert len(SENTENCE) == 100
    engine = Pyttsx3Engine()
    engine.synthesize("你好", NATIVE_RATE)          # load pyttsx3 + libespeak-ng once
    out: dict = {"sentence_chars": len(SENTENCE), "wpm": engine.wpm, "voice": engine.voice}

    native_s, native = _median_time(lambda: engine.synthesize(SENTENCE, NATIVE_RATE), repeat)
    out["audio_seconds"] = round(duration_s(native, NATIVE_RATE), 2)
    out["espeak_ms"] = _ms(native_s)
    for rate in (8000, 16000):
        rs_s, _ = _median_time(lambda r=rate: resample(native, NATIVE_RATE, r), repeat)
        cold_s, _ = _median_time(lambda r=rate: engine.synthesize(SENTENCE, r), repeat)
        out[f"resample_{rate}_ms"] = _ms(rs_s)
        out[f"cold_{rate}_ms"] = _ms(cold_s)

    cache = PromptCache(folder / "cache", engine, overrides_dir=folder / "overrides")
    t0 = time.perf_counter()
    first = cache.speak(SENTENCE, 8000)
    out["cache_first_8000_ms"] = _ms(time.perf_counter() - t0)
    cached_s, again = _median_time(lambda: cache.speak(SENTENCE, 8000), max(repeat, 20))
    assert again == first
    out["cached_8000_ms"] = _ms(cached_s)
    out["cold_over_cached"] = round(out["cold_8000_ms"] / max(out["cached_8000_ms"], 1e-3), 1)

    cache.prerender(rates=(8000,), ids=["phone.welcome"])
    first_audio_s, pcm = _median_time(lambda: cache.pcm("phone.welcome", 8000), max(repeat, 20))
    out["first_audio_cached_prompt_ms"] = _ms(first_audio_s)
    out["first_audio_target_ms"] = FIRST_AUDIO_TARGET_MS
    out["prompt_seconds"] = round(duration_s(pcm, 8000), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per cold figure (median)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--dir", type=Path, help="cache folder to use (default: a temporary one)")
    args = ap.parse_args(argv)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        figures = run(args.dir, args.repeat)
    else:
        with tempfile.TemporaryDirectory(prefix="lianxin-bench-tts-") as tmp:
            figures = run(Path(tmp), args.repeat)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return 0
    f = figures
    print(f"TTS, {f['sentence_chars']}-character sentence ({f['audio_seconds']} s of speech, "
          f"{f['voice']}, {f['wpm']} wpm):")
    print(f"  espeak-ng at 22050 Hz        {f['espeak_ms']:9.1f} ms")
    for rate in (8000, 16000):
        print(f"  cold at {rate:5d} Hz            {f[f'cold_{rate}_ms']:9.1f} ms"
              f"   (resampling {f[f'resample_{rate}_ms']:.1f} ms)")
    print(f"  cache, first call (8 kHz)    {f['cache_first_8000_ms']:9.1f} ms")
    print(f"  cache, later calls (8 kHz)   {f['cached_8000_ms']:9.2f} ms"
          f"   cold/cached = {f['cold_over_cached']}x")
    verdict = "ok" if f["first_audio_cached_prompt_ms"] <= FIRST_AUDIO_TARGET_MS else "OVER"
    print(f"Time to first audio, cached prompt phone.welcome ({f['prompt_seconds']} s): "
          f"{f['first_audio_cached_prompt_ms']:.2f} ms (budget {FIRST_AUDIO_TARGET_MS:.0f} ms "
          f"for answer -> first audio: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
