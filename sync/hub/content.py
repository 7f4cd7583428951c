"""Lessons published at the hub: from a file (``lianxin hub lesson publish``) or from the
console's form, and the audio that may go with one.

A lesson file is the TOML the demo's lessons use (``assets/demo/lessons/*.toml``: title,
category, minutes, assigned, body, ``[[quiz]]`` with question, choices, answer, explain).
Before it goes out, the lesson is published on a scratch terminal (``sync.hub.roster``) by
``core.study.publish_lesson``, so a quiz a terminal would refuse is refused here, with the
file named, instead of being skipped on every terminal of the branch.

Audio is checked by its bytes, never its name (:func:`check_audio`): WAV, MP3, Ogg or M4A,
at most :data:`MAX_AUDIO_BYTES`. The console and the CLI refuse the same files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from core import study
from core.clock import default_clock
from core.errors import InvalidInput, NotFound

from . import admin
from .roster import branch_row, scratch_terminal
from .storage import HubStorage

MAX_AUDIO_BYTES = 20 * 1024 * 1024        # a 20-minute talk as a 128 kbit/s MP3 fits
MAX_AUDIO_MB = MAX_AUDIO_BYTES // (1024 * 1024)
M4A_BRANDS = (b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"dash")


class NotAudio(InvalidInput):
    """An upload that is not one of the audio formats terminals play, or too large."""

    zh_default = "这不是音频文件。请选择WAV、MP3、OGG或M4A格式的录音。"


def audio_kind(head: bytes) -> str | None:
    """The audio format the first bytes of a file announce (``WAV``, ``MP3``, ``OGG``,
    ``M4A``), or None. At least 12 bytes are needed."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "WAV"
    if head[:3] == b"ID3":                                # MP3 with an ID3v2 tag
        return "MP3"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 \
            and (head[1] & 0x06) != 0 and (head[1] & 0x18) != 0x08:
        return "MP3"                                      # an MPEG audio frame header
    if head[:4] == b"OggS":
        return "OGG"
    if head[4:8] == b"ftyp" and head[8:12] in M4A_BRANDS:
        return "M4A"
    return None


def check_audio(path, *, max_bytes: int = MAX_AUDIO_BYTES) -> str:
    """The format of the audio file at ``path``; :class:`NotAudio` when it is not audio
    by its bytes, is empty, or is larger than ``max_bytes``."""
    p = Path(path)
    size = p.stat().st_size
    if size > max_bytes:
        raise NotAudio(f"{p.name}: {size} bytes, more than {max_bytes}",
                       f"音频文件太大了，最大{max_bytes // (1024 * 1024)}MB。"
                       "请压缩成MP3后再上传。")
    with p.open("rb") as f:
        kind = audio_kind(f.read(16))
    if kind is None:
        raise NotAudio(f"{p.name}: not WAV, MP3, Ogg or M4A by its bytes")
    return kind


def read_lesson(path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise NotFound(f"no such file: {p}", f"找不到这个文件：{p.name}")
    try:
        spec = tomllib.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidInput(f"{p.name}: not a UTF-8 TOML lesson file: {e}",
                           "课程文件格式不对，应该是UTF-8编码的TOML文件。") from e
    minutes = spec.get("minutes")
    return {"title": spec.get("title", ""), "category": spec.get("category", ""),
            "minutes": minutes, "body": spec.get("body", ""),
            "quiz": spec.get("quiz", []), "assigned": bool(spec.get("assigned", False))}


def publish(storage: HubStorage, branch: str, lesson: dict, *, lesson_id: str,
            audio=None, clock=None) -> dict:
    """Publish (or replace) ``lesson`` (the fields of :func:`read_lesson`) for ``branch``
    after a scratch terminal took it, with an optional audio file (checked first)."""
    if audio is not None:
        check_audio(audio)
    clock = clock or default_clock()
    with scratch_terminal(branch_row(storage, branch), clock) as scratch:
        study.publish_lesson(scratch, lesson_id=lesson_id, actor="hub", **lesson)
    return admin.publish_lesson(storage, branch, lesson_id=lesson_id,
                                audio=Path(audio) if audio else None, clock=clock, **lesson)


def publish_lesson_file(storage: HubStorage, branch: str, path, *, lesson_id: str | None = None,
                        audio=None, clock=None) -> dict:
    """Publish (or replace) the lesson in ``path`` for ``branch``; its id is the file's
    name without ``.toml`` unless given."""
    return publish(storage, branch, read_lesson(path), lesson_id=lesson_id or Path(path).stem,
                   audio=audio, clock=clock)
