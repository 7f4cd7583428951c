"""Fixed prompts: a catalogue of ids -> Chinese text, rendered once, reused, overridable.

Why: synthesising costs ~1.3 ms per second of speech (mostly espeak-ng; a 100-character
sentence ~45 ms, more on a busy terminal), and a caller must hear the greeting within half a
second of answering while a kiosk prompt should start at once, so every fixed prompt is
rendered ahead of time (``lianxin voice prerender``) and read back from a WAV file. A branch
can replace any fixed prompt with a staff recording (for example in the local dialect).

Layout on disk (both folders passed in, neither created until something is written):

    cache_dir/<sha256>.wav        synthetic audio; key = sha256(text, engine.identity, rate)
                                  so new wording, voice, speed or volume never hits a stale file
    cache_dir/ovr-<sha256>.wav    an override converted to one rate; key = override bytes + rate
    overrides_dir/<prompt_id>.wav a staff recording, stored as imported: mono 16-bit, its own rate

Lookup order for ``pcm(prompt_id, rate)``: a valid override, else the cached synthetic file,
else synthesise now and store it. A damaged override found at play time (copied in by hand,
half-written disk) is skipped with a warning, never an exception: the synthetic prompt plays.
All writes are atomic (temporary file + ``os.replace``), so two processes (kiosk and phone
line) can share one cache folder.

Templates (text with ``{fields}``) are filled with display values, then read through
``speech_text.for_speech`` by the engine, e.g. ``dues.paid_through`` with
``month="2026-08"``; a filled template is cached like any text (``speak``).
"""

from __future__ import annotations

import hashlib
import logging
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInput, NotFound

from . import pcm as _pcm
from .tts import TTSEngine

__all__ = ["CATALOGUE", "PrerenderReport", "PromptCache", "PromptInfo"]

log = logging.getLogger(__name__)

# Starter catalogue for the kiosk and the phone line. Short sentences, one idea each, the
# key named in the words a caller hears ("请按1"), ≤4 choices per menu.
CATALOGUE: dict[str, str] = {
    "welcome": "您好，欢迎使用连心党员服务。",
    "phone.welcome": "您好，这里是连心党员服务热线。",
    "home.menu": "请选择：交党费，学习，看通知，或者找工作人员。",
    "phone.menu": "查党费请按1，听学习课程请按2，听支部通知请按3，给工作人员留言请按0。再听一遍请按9。",
    "ask.member_no": "请输入您的党员编号，输完请按井号键。",
    "ask.pin": "请输入您的四位密码。",
    "pin.wrong": "密码不对，请再输一次。",
    "pin.locked": "密码输错的次数太多，已经暂时锁定。请十五分钟以后再试，或者找工作人员帮忙。",
    "member.unknown": "没有找到这个编号，请再输一次。",
    "member.by_phone": "您好，{name}同志。请输入您的四位密码确认身份。",
    "dues.paid_through": "您的党费已经交到{month}。",
    "dues.owing": "还有{months}个月没有交，一共{amount}。",
    "dues.up_to_date": "您的党费都已经交清了，谢谢您。",
    "dues.pay_at_kiosk": "交党费请到村里的服务终端，或者找支部工作人员。",
    "lesson.recommended": "为您推荐的课程是：{title}。",
    "lesson.controls": "按星号键听上一句，按井号键暂停或者继续，按0停止。",
    "lesson.paused": "已经暂停，按井号键继续。",
    "lesson.done": "这一课听完了，学习时间已经记下。",
    "notices.none": "现在没有新的通知。",
    "message.ask": "请在提示音以后说出您的留言，说完请按井号键。",
    "message.saved": "您的留言已经保存，工作人员会尽快联系您。",
    "idle": "您还在吗？",
    "not_understood": "没有听清楚，请再说一遍，或者按键选择。",
    "too_many_tries": "好像遇到了困难。给工作人员留言请按0。",
    "staff.coming": "已经通知工作人员，请稍等，马上就来。",
    "going_home": "马上回到首页。",
    "speech.off": "语音识别没有打开，请用按键选择。",
    "goodbye": "谢谢使用，再见。",
    "phone.goodbye": "感谢您的来电，再见。",
}


@dataclass(frozen=True)
class PromptInfo:
    prompt_id: str
    text: str
    fixed: bool                 # no {fields}: can be prerendered and overridden
    override: str               # "" | "ok" | "damaged: <reason>"


@dataclass(frozen=True)
class PrerenderReport:
    rendered: int               # synthesised now
    reused: int                 # already in the cache
    overridden: int             # a staff recording is used instead
    rates: tuple[int, ...]


def _fields(text: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


class PromptCache:
    """Prompt audio by id, from overrides, the cache, or the engine (in that order)."""

    def __init__(self, cache_dir: Path, engine: TTSEngine, *, overrides_dir: Path,
                 catalogue: Mapping[str, str] = CATALOGUE):
        # Two folders on purpose: the cache can be deleted at any time, staff recordings not.
        self.cache_dir = Path(cache_dir)
        self.overrides_dir = Path(overrides_dir)
        self.engine = engine
        self.catalogue = dict(catalogue)

    # -- reading ------------------------------------------------------------------------

    def text(self, prompt_id: str, **values) -> str:
        """The prompt's text, a template filled with display values ("2026-08", "4元5角")."""
        try:
            template = self.catalogue[prompt_id]
        except KeyError:
            raise NotFound(f"no prompt {prompt_id!r}", "没有这条语音提示。") from None
        missing = [f for f in _fields(template) if f not in values]
        if missing:
            raise InvalidInput(f"prompt {prompt_id!r} needs {', '.join(missing)}")
        return template.format(**values) if _fields(template) else template

    def pcm(self, prompt_id: str, rate_hz: int, **values) -> bytes:
        """16-bit mono PCM of a prompt at ``rate_hz``."""
        text = self.text(prompt_id, **values)
        if not _fields(self.catalogue[prompt_id]):
            audio = self._override_pcm(prompt_id, rate_hz)
            if audio is not None:
                return audio
        return self.speak(text, rate_hz)

    def speak(self, text: str, rate_hz: int) -> bytes:
        """Any text through the cache (filled templates, lesson sentences, notices)."""
        path = self.cache_dir / f"{self._key(text, rate_hz)}.wav"
        cached = self._read_cached(path, rate_hz)
        if cached is not None:
            return cached
        audio = self.engine.synthesize(text, rate_hz)
        self._store(path, audio, rate_hz)
        return audio

    def prerender(self, rates: Iterable[int] = (8000, 16000),
                  ids: Iterable[str] | None = None) -> PrerenderReport:
        """Render every fixed prompt at every rate that is not cached yet."""
        rates = tuple(rates)
        rendered = reused = overridden = 0
        for pid in (list(ids) if ids is not None else sorted(self.catalogue)):
            text = self.text(pid) if not _fields(self.catalogue.get(pid, "")) else None
            if text is None:
                continue
            if self._override_status(pid) == "ok":
                for rate in rates:
                    self._override_pcm(pid, rate)
                overridden += 1
                continue
            for rate in rates:
                path = self.cache_dir / f"{self._key(text, rate)}.wav"
                if self._read_cached(path, rate) is not None:
                    reused += 1
                else:
                    self._store(path, self.engine.synthesize(text, rate), rate)
                    rendered += 1
        return PrerenderReport(rendered, reused, overridden, rates)

    def status(self) -> list[PromptInfo]:
        """Every prompt with whether a staff recording replaces it (for the staff screen)."""
        return [PromptInfo(pid, text, not _fields(text), self._override_status(pid))
                for pid, text in sorted(self.catalogue.items())]

    # -- staff recordings ---------------------------------------------------------------

    def import_override(self, prompt_id: str, wav: Path | bytes) -> Path:
        """Check a WAV recording and store it (mono 16-bit, its own rate) as the prompt.

        Raises NotFound for an unknown or template prompt and InvalidInput for a file that
        is not a usable WAV or is silent; nothing is changed then.
        """
        if prompt_id not in self.catalogue:
            raise NotFound(f"no prompt {prompt_id!r}", "没有这条语音提示。")
        if _fields(self.catalogue[prompt_id]):
            raise InvalidInput(f"prompt {prompt_id!r} has fields and cannot be a recording",
                               "这条提示里有会变化的内容，不能用录音代替。")
        audio, rate = _pcm.read_wav(wav)
        if _pcm.rms(audio) < 30:
            raise InvalidInput(f"recording for {prompt_id!r} is silent",
                               "这个录音没有声音，请重新录。")
        self.overrides_dir.mkdir(parents=True, exist_ok=True)
        path = self._override_path(prompt_id)
        _pcm.write_wav_atomic(path, audio, rate)
        return path

    def remove_override(self, prompt_id: str) -> bool:
        """Go back to the synthetic prompt; True when there was a recording."""
        try:
            self._override_path(prompt_id).unlink()
            return True
        except FileNotFoundError:
            return False

    # -- internals ----------------------------------------------------------------------

    def _key(self, text: str, rate_hz: int) -> str:
        h = hashlib.sha256()
        for part in (text, self.engine.identity, str(rate_hz)):
            h.update(part.encode("utf-8") + b"\x00")
        return h.hexdigest()

    def _override_path(self, prompt_id: str) -> Path:
        return self.overrides_dir / f"{prompt_id}.wav"

    def _override_status(self, prompt_id: str) -> str:
        path = self._override_path(prompt_id)
        if not path.exists():
            return ""
        try:
            _pcm.read_wav(path)
        except InvalidInput as e:
            return f"damaged: {e.detail}"
        return "ok"

    def _override_pcm(self, prompt_id: str, rate_hz: int) -> bytes | None:
        path = self._override_path(prompt_id)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        digest = hashlib.sha256(raw + f"\x00{rate_hz}".encode()).hexdigest()
        converted = self.cache_dir / f"ovr-{digest}.wav"
        cached = self._read_cached(converted, rate_hz)
        if cached is not None:
            return cached
        try:
            audio, rate = _pcm.read_wav(raw)
        except InvalidInput as e:
            log.warning("override for prompt %s skipped: %s", prompt_id, e.detail)
            return None
        audio = _pcm.resample(audio, rate, rate_hz)
        self._store(converted, audio, rate_hz)
        return audio

    def _read_cached(self, path: Path, rate_hz: int) -> bytes | None:
        """Cached PCM, or None when absent or unusable (then it is simply rendered again)."""
        try:
            audio, rate = _pcm.read_wav(path)
        except InvalidInput:
            return None
        return audio if rate == rate_hz else None

    def _store(self, path: Path, audio: bytes, rate_hz: int) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        _pcm.write_wav_atomic(path, audio, rate_hz)
