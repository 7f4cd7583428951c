"""Speech in: vosk (Kaldi) recognition restricted to the phrases valid right now.

    SpeechEngine (Protocol)  stream(phrases, rate_hz) -> SpeechStream; recognize(pcm, ...)
    └── VoskEngine           a vosk model folder; ``from_config()`` -> None when none is set
    SpeechStream             feed(pcm) -> Decision | None at each end of an utterance;
                             finish() -> the last Decision
    Decision                 what was heard, its confidence, and whether it counts

Why grammar mode and a check afterwards: an open-vocabulary decoder on an 8 kHz phone line
with older, accented voices mishears freely; limiting the search to the few phrases a menu
accepts (plus ``[unk]`` where the model has it, so noise has somewhere to go) makes it
usable, and a phrase only counts when the whole utterance is exactly one valid phrase with
every word's confidence above ``threshold``. Anything else is a Decision with
``accepted=False``: the dialog asks again or the caller uses the keypad, which always works.

Things learnt on the real engine (vosk 0.3.45):
* The grammar is JSON; ``json.dumps`` escapes hanzi/hangul to ``\\uXXXX`` by default and
  vosk then finds none of the words ("Ignoring word missing in vocabulary") and returns
  nothing. It must be dumped with ``ensure_ascii=False``.
* Words outside the model's vocabulary are dropped with a warning; ``[unk]`` too when the
  model lacks it (the small Korean test model does). So phrases are filtered with
  ``Model.vosk_model_find_word`` first, and a grammar left empty is refused here.
* The model loads in about 1.5 s; it is loaded once per process and folder, on first use,
  and shared by every call (a recognizer per utterance is cheap, ~1 ms).
* 8 kHz audio is upsampled by the feature pipeline (``--allow-upsample``), so the phone
  feeds its audio as it comes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from core import config
from core.errors import LianxinError

__all__ = ["Decision", "SpeechEngine", "SpeechError", "SpeechStream", "VoskEngine", "verify"]

log = logging.getLogger(__name__)
UNK = "[unk]"
DEFAULT_THRESHOLD = 0.6
_MODELS: dict[str, object] = {}
_MODELS_LOCK = threading.Lock()


class SpeechError(LianxinError):
    zh_default = "语音识别没有打开，请用按键选择。"


@dataclass(frozen=True)
class Decision:
    text: str                   # what the decoder heard ("" for nothing)
    confidence: float           # lowest word confidence, 0 when nothing was heard
    phrase: str | None          # the valid phrase it counts as, or None

    @property
    def accepted(self) -> bool:
        return self.phrase is not None


def verify(result: dict, phrases: Sequence[str], threshold: float) -> Decision:
    """Does a vosk result (``SetWords(True)`` JSON) say exactly one valid phrase, clearly?"""
    words = [w for w in result.get("result", []) if w.get("word") != UNK]
    text = " ".join(result.get("text", "").split())
    conf = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
    valid = {" ".join(p.split()): p for p in phrases if p != UNK}
    phrase = valid.get(text) if text and conf >= threshold and UNK not in text else None
    return Decision(text, conf if words else 0.0, phrase)


@runtime_checkable
class SpeechStream(Protocol):
    def feed(self, pcm: bytes) -> Decision | None: ...
    def finish(self) -> Decision | None: ...


@runtime_checkable
class SpeechEngine(Protocol):
    def stream(self, phrases: Sequence[str], rate_hz: int) -> SpeechStream: ...
    def recognize(self, pcm: bytes, rate_hz: int, phrases: Sequence[str]) -> Decision | None: ...


class _VoskStream:
    def __init__(self, recognizer, phrases: list[str], threshold: float):
        self._rec, self._phrases, self._threshold = recognizer, phrases, threshold

    def _decision(self, raw: str) -> Decision | None:
        result = json.loads(raw)
        if not result.get("text", "").strip():
            return None                            # silence or noise only
        decision = verify(result, self._phrases, self._threshold)
        log.debug("heard %r (conf %.2f) -> %r", decision.text, decision.confidence,
                  decision.phrase)
        return decision

    def feed(self, pcm: bytes) -> Decision | None:
        """Give audio; a Decision when the decoder has just seen an utterance end."""
        if self._rec.AcceptWaveform(pcm):
            return self._decision(self._rec.Result())
        return None

    def finish(self) -> Decision | None:
        return self._decision(self._rec.FinalResult())


class VoskEngine:
    """A vosk model folder; construction is cheap, the model loads on first use."""

    def __init__(self, model_path: Path | str, *, threshold: float = DEFAULT_THRESHOLD):
        self.model_path = Path(model_path)
        self.threshold = threshold

    @classmethod
    def from_config(cls, **kwargs) -> VoskEngine | None:
        """The engine for ``LIANXIN_VOSK_MODEL``, or None: speech input is off."""
        path = config.get("vosk_model")
        return cls(path, **kwargs) if path else None

    def _model(self):
        key = str(self.model_path.resolve())
        with _MODELS_LOCK:
            if key not in _MODELS:
                if not (self.model_path / "am").is_dir() and not (self.model_path / "conf").is_dir():
                    raise SpeechError(f"no vosk model in {self.model_path}")
                try:
                    import vosk
                except ImportError as e:
                    raise SpeechError(f"vosk is not installed: {e}") from e
                vosk.SetLogLevel(-1)
                _MODELS[key] = vosk.Model(str(self.model_path))
            return _MODELS[key]

    def load(self) -> None:
        """Load the model now (the phone line does this at start, not on the first call)."""
        self._model()

    def knows(self, word: str) -> bool:
        """Is this word in the model's vocabulary? (The kiosk cuts labels into known words.)"""
        return self._model().vosk_model_find_word(word) >= 0

    def grammar(self, phrases: Sequence[str]) -> list[str]:
        """The phrases whose every word the model knows, plus ``[unk]`` if it has one."""
        model = self._model()
        known = [p for p in dict.fromkeys(phrases)
                 if p != UNK and all(self.knows(w) for w in p.split())]
        dropped = [p for p in phrases if p not in known and p != UNK]
        if dropped:
            log.warning("phrases not in the speech model's vocabulary: %s", dropped)
        if model.vosk_model_find_word(UNK) >= 0:
            known.append(UNK)
        return known

    def stream(self, phrases: Sequence[str], rate_hz: int) -> SpeechStream:
        import vosk
        grammar = self.grammar(phrases)
        if not [p for p in grammar if p != UNK]:
            raise SpeechError(f"none of {list(phrases)!r} is in the speech model")
        rec = vosk.KaldiRecognizer(self._model(), float(rate_hz),
                                   json.dumps(grammar, ensure_ascii=False))
        rec.SetWords(True)
        return _VoskStream(rec, grammar, self.threshold)

    def recognize(self, pcm: bytes, rate_hz: int, phrases: Sequence[str]) -> Decision | None:
        """A whole clip through the same streaming path the phone uses (20 ms pieces)."""
        stream = self.stream(phrases, rate_hz)
        step = rate_hz // 50 * 2
        decision = None
        for i in range(0, len(pcm), step):
            decision = stream.feed(pcm[i:i + step]) or decision
        return stream.finish() or decision
