"""Lessons published from a file (``lianxin hub lesson publish``).

A lesson file is the TOML the demo's lessons use (``assets/demo/lessons/*.toml``: title,
category, minutes, assigned, body, ``[[quiz]]`` with question, choices, answer, explain).
Before it goes out, the lesson is published on a scratch terminal (``sync.hub.roster``) by
``core.study.publish_lesson``, so a quiz a terminal would refuse is refused here, with the
file named, instead of being skipped on every terminal of the branch.
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


def publish_lesson_file(storage: HubStorage, branch: str, path, *, lesson_id: str | None = None,
                        audio=None, clock=None) -> dict:
    """Publish (or replace) the lesson in ``path`` for ``branch``; its id is the file's
    name without ``.toml`` unless given."""
    lesson = read_lesson(path)
    lesson_id = lesson_id or Path(path).stem
    clock = clock or default_clock()
    with scratch_terminal(branch_row(storage, branch), clock) as scratch:
        study.publish_lesson(scratch, lesson_id=lesson_id, actor="hub", **lesson)
    return admin.publish_lesson(storage, branch, lesson_id=lesson_id,
                                audio=Path(audio) if audio else None, clock=clock, **lesson)
