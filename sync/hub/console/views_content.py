"""The console's 内容 (content) pages: what they show and what their forms do, for one
signed-in operator. Plain dicts, no HTTP: the routes (routes_content.py) render them and
tests call them directly.

Every change goes through the hub service functions the CLI calls (``sync.hub.content``,
``admin``, ``staff``), after the operator's write scope (``operators.require_branch``), and
is written on the operators' trail. A form with bad fields raises :class:`FormErrors`: one
plain Chinese message per field, shown next to it, and nothing is changed. A PIN is never
shown back, logged or put on the trail.

Lesson audio arrives before the lesson (the page's script sends the file as it is chosen,
with a progress bar): it waits in a staging folder beside the hub's media, under a random
token bound to the operator and the branch, until the lesson is published (then it moves
into the media store) or a day has passed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from datetime import date
from pathlib import Path

from core import branch as core_branch
from core import pins, study
from core.clock import default_clock
from core.errors import InvalidInput
from core.ids import new_id

from .. import admin, content, operators, staff
from ..storage import HubStorage

CATEGORIES = ("党章党规", "理论学习", "党费知识", "乡村政策", "村务公开", "防范诈骗",
              "健康生活", "身边榜样")
QUIZ_SLOTS = study.MAX_QUESTIONS
CHOICES = 4
MAX_TITLE, MAX_BODY, MAX_NOTICE = 60, 20_000, 4_000
STAGED_FOR_S = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
_LESSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_MONTHS = re.compile(r"[0-9]{1,3}")


class FormErrors(InvalidInput):
    """Bad fields of a form: field name -> the Chinese message shown next to it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("bad fields: " + ", ".join(errors), next(iter(errors.values())))
        self.errors = errors


def _can_write(operator: dict) -> bool:
    return operator["role"] != "branch_secretary"


# -- what the pages show ---------------------------------------------------------------

def branches(storage: HubStorage, operator: dict) -> dict:
    """The branches in scope, to choose one whose content to manage."""
    names = {b["code"]: b for b in storage.branch_names()}
    return {"branches": [{"code": c, "name": names[c]["name"],
                          "township": names[c]["township"]}
                         for c in operators.branches_in_scope(storage, operator)],
            "can_write": _can_write(operator)}


def page(storage: HubStorage, operator: dict, code: str, *, clock=None) -> dict:
    """One branch's content: its dues policy, its staff accounts (no PINs), the lessons
    and notices the hub published, and what its forms need."""
    operators.require_branch(storage, operator, code)
    row = storage.get_branch(code)
    lessons = []
    for ev in storage.hub_events(code, "lesson.published", limit=30):
        p = _payload(ev)
        lessons.append({"lesson_id": p.get("lesson_id"), "title": p.get("title"),
                        "category": p.get("category"), "minutes": p.get("minutes"),
                        "questions": p.get("questions"), "assigned": bool(p.get("assigned")),
                        "audio_size": p.get("audio_size"), "at": ev["at"]})
    notices = [{"title": p.get("title"), "posted": p.get("posted"), "at": ev["at"]}
               for ev in storage.hub_events(code, "notice.posted", limit=10)
               for p in [_payload(ev)]]
    return {"branch": {"code": code, "name": row["name"], "township": row["township"],
                       "back_pay_limit": row["back_pay_limit"],
                       "pay_ahead_limit": row["pay_ahead_limit"]},
            "staff": staff.list_staff(storage, code), "lessons": lessons, "notices": notices,
            "can_write": _can_write(operator), "categories": CATEGORIES,
            "quiz_slots": QUIZ_SLOTS, "choices": CHOICES,
            "staff_roles": core_branch.STAFF_ROLES, "max_audio_mb": content.MAX_AUDIO_MB,
            "today": (clock or default_clock()).now().date().isoformat()}


def _payload(ev: dict) -> dict:
    try:
        p = json.loads(ev["payload"])
    except ValueError:
        return {}
    return p if isinstance(p, dict) else {}


# -- lesson audio, staged before the lesson ----------------------------------------------

def staging_dir(storage: HubStorage) -> Path:
    return storage.uploads_dir


def _staged_name(operator: dict, code: str, token: str) -> str:
    owner = hashlib.sha256(f"{operator['username']}\n{code}".encode()).hexdigest()[:16]
    return f"{owner}-{token}"


def new_upload(storage: HubStorage, operator: dict, code: str) -> tuple[str, Path]:
    """A token and the file the audio for ``code`` is written to (write scope checked);
    staged files older than a day are removed first."""
    operators.require_branch(storage, operator, code, write=True)
    folder = staging_dir(storage)
    folder.mkdir(mode=0o700, exist_ok=True)
    old = time.time() - STAGED_FOR_S
    for f in folder.iterdir():
        try:
            if f.stat().st_mtime < old:
                f.unlink()
        except FileNotFoundError:      # published or cleaned meanwhile
            pass
    token = secrets.token_urlsafe(16)
    return token, folder / _staged_name(operator, code, token)


def finish_upload(path: Path) -> dict:
    """Check a staged file by its bytes; a refused one is deleted (:class:`content.NotAudio`)."""
    try:
        kind = content.check_audio(path)
    except content.NotAudio:
        path.unlink(missing_ok=True)
        raise
    return {"kind": kind, "size": path.stat().st_size}


def too_large() -> content.NotAudio:
    mb = content.MAX_AUDIO_MB
    return content.NotAudio(f"upload over {content.MAX_AUDIO_BYTES} bytes",
                            f"音频文件太大了，最大{mb}MB。请压缩成MP3后再上传。")


def _staged(storage: HubStorage, operator: dict, code: str, token: str) -> Path | None:
    if not _TOKEN.fullmatch(token or ""):
        return None
    path = staging_dir(storage) / _staged_name(operator, code, token)
    return path if path.is_file() else None


# -- the forms -----------------------------------------------------------------------------

def _text(form: dict, name: str, label: str, limit: int, errors: dict) -> str:
    value = str(form.get(name, "")).strip()
    if not value:
        errors[name] = f"请填写{label}。"
    elif len(value) > limit:
        errors[name] = f"{label}最多{limit}个字。"
    return value


def _quiz(form: dict, errors: dict) -> list[dict]:
    """The quiz questions filled in (slots left empty are skipped)."""
    quiz = []
    for i in range(1, QUIZ_SLOTS + 1):
        question = str(form.get(f"q{i}", "")).strip()
        choices = [str(form.get(f"q{i}c{j}", "")).strip() for j in range(1, CHOICES + 1)]
        answer = str(form.get(f"q{i}a", "")).strip()
        if not question and not any(choices):
            continue
        if not question:
            errors[f"q{i}"] = f"第{i}题：请填写题目。"
            continue
        if len(question) > 200 or any(len(c) > 100 for c in choices):
            errors[f"q{i}"] = f"第{i}题：题目最多200字，每个选项最多100字。"
            continue
        filled = [c for c in choices if c]
        if len(filled) < 2 or filled != choices[:len(filled)]:
            errors[f"q{i}"] = f"第{i}题：请从第一个选项起，依次填写2到{CHOICES}个选项。"
            continue
        if not answer.isdigit() or not 1 <= int(answer) <= len(filled):
            errors[f"q{i}"] = f"第{i}题：请选出正确答案（要是已经填写的选项）。"
            continue
        quiz.append({"question": question, "choices": filled, "answer": int(answer) - 1,
                     "explain": str(form.get(f"q{i}e", "")).strip()[:300]})
    return quiz


def publish_lesson(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
                   form: dict, *, clock=None) -> dict:
    """The lesson form: title, category, minutes, body, quiz, assigned, and audio staged
    beforehand (``audio_upload``; ``audio_wanted`` says a file was chosen: then it must
    have arrived whole). Published through ``content.publish`` (a scratch terminal takes
    it first), as ``lianxin hub lesson publish``."""
    operators.require_branch(storage, operator, code, write=True)
    errors: dict[str, str] = {}
    title = _text(form, "title", "标题", MAX_TITLE, errors)
    category = _text(form, "category", "分类", 20, errors)
    minutes = str(form.get("minutes", "")).strip()
    if not minutes.isdigit() or not 1 <= int(minutes) <= 120:
        errors["minutes"] = "学习时长请填1到120之间的整数（分钟）。"
    body = _text(form, "body", "课程内容", MAX_BODY, errors)
    lesson_id = str(form.get("lesson_id", "")).strip()
    if lesson_id and not _LESSON_ID.fullmatch(lesson_id):
        errors["lesson_id"] = "课程编号只能用字母、数字、点、横线和下划线，最多64个字符。"
    quiz = _quiz(form, errors)
    audio = None
    token = str(form.get("audio_upload", "")).strip()
    if token or form.get("audio_wanted"):
        audio = _staged(storage, operator, code, token)
        if audio is None:
            errors["audio"] = "录音没有上传成功（或已过期），请重新选择录音文件。"
    if errors:
        raise FormErrors(errors)
    lesson = {"title": title, "category": category, "minutes": int(minutes), "body": body,
              "quiz": quiz, "assigned": form.get("assigned") == "yes"}
    lesson_id = lesson_id or f"hub-{new_id()}"
    try:
        out = content.publish(storage, code, lesson, lesson_id=lesson_id, audio=audio,
                              clock=clock)
    except content.NotAudio as e:
        raise FormErrors({"audio": e.zh}) from e
    except InvalidInput as e:       # what a terminal would refuse (core.study)
        raise FormErrors({"quiz": "课程内容有问题，终端不能接受：" + e.zh}) from e
    if audio is not None:
        audio.unlink(missing_ok=True)
    operators.record(storage, actor, "lesson.published", f"lesson:{code}/{lesson_id}",
                     {"branch": code, "title": title, "questions": len(quiz),
                      "assigned": lesson["assigned"], "audio_sha256": out["audio_sha256"],
                      "audio_size": out["audio_size"]}, clock=clock)
    return out


def post_notice(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
                form: dict, *, clock=None) -> dict:
    """The notice form: title, body, the date shown on it (YYYY-MM-DD), as
    ``lianxin hub notice post``."""
    operators.require_branch(storage, operator, code, write=True)
    errors: dict[str, str] = {}
    title = _text(form, "title", "通知标题", MAX_TITLE, errors)
    body = _text(form, "body", "通知内容", MAX_NOTICE, errors)
    posted = str(form.get("posted", "")).strip()
    try:
        posted = date.fromisoformat(posted).isoformat()
    except ValueError:
        errors["posted"] = "日期请写成 2026-11-20 这样（年-月-日）。"
    if errors:
        raise FormErrors(errors)
    out = admin.post_notice(storage, code, title=title, body=body, posted=posted, clock=clock)
    operators.record(storage, actor, "notice.posted", f"notice:{code}/{out['notice_id']}",
                     {"branch": code, "title": title, "posted": posted}, clock=clock)
    return out


def set_policy(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
               form: dict, *, clock=None) -> dict:
    """The dues policy: months of arrears a terminal takes without an override and months a
    member may pay ahead, whole numbers 0 or more (as ``lianxin hub policy set``)."""
    operators.require_branch(storage, operator, code, write=True)
    errors: dict[str, str] = {}
    limits = {}
    for name in ("back_pay_limit", "pay_ahead_limit"):
        value = str(form.get(name, "")).strip()
        if not _MONTHS.fullmatch(value):
            errors[name] = "请填0或正整数（月数），例如6。"
        else:
            limits[name] = int(value)
    if errors:
        raise FormErrors(errors)
    before = storage.get_branch(code)
    out = admin.set_policy(storage, code, clock=clock, **limits)
    operators.record(storage, actor, "policy.set", f"branch:{code}",
                     {"from": [before["back_pay_limit"], before["pay_ahead_limit"]],
                      "to": [limits["back_pay_limit"], limits["pay_ahead_limit"]]},
                     clock=clock)
    return out


def _pin(form: dict, errors: dict) -> str:
    pin, again = str(form.get("pin", "")), str(form.get("pin_again", ""))
    try:
        pins.check_format(pin, "staff")
    except InvalidInput:
        errors["pin"] = "密码要是4到6位数字。"
        return ""
    if pin != again:
        errors["pin_again"] = "两次输入的密码不一样，请重新输入。"
    return pin


def add_staff(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
              form: dict, *, clock=None) -> dict:
    """A new staff account (number, name, role, PIN twice), as ``lianxin hub staff add``."""
    operators.require_branch(storage, operator, code, write=True)
    errors: dict[str, str] = {}
    staff_no = str(form.get("staff_no", "")).strip()
    try:
        staff.check_staff_no(staff_no)
    except InvalidInput as e:
        errors["staff_no"] = e.zh
    name = _text(form, "name", "姓名", 20, errors)
    role = str(form.get("role", ""))
    if role not in core_branch.STAFF_ROLES:
        errors["role"] = "请选择岗位。"
    pin = _pin(form, errors)
    if errors:
        raise FormErrors(errors)
    try:
        out = staff.add_staff(storage, code, staff_no=staff_no, name=name, role=role, pin=pin,
                              actor=f"console:{operator['username']}", clock=clock)
    except InvalidInput as e:
        raise FormErrors({"staff_no": e.zh}) from e
    operators.record(storage, actor, "staff.added", f"staff:{code}/{out['staff_no']}",
                     {"branch": code, "name": out["name"], "role": out["role"]}, clock=clock)
    return out


def reset_staff_pin(storage: HubStorage, operator: dict, actor: operators.Actor, code: str,
                    staff_no: str, form: dict, *, clock=None) -> dict:
    """A staff member's new PIN (twice), as ``lianxin hub staff pin``: every terminal of
    the branch takes it at its next sync."""
    operators.require_branch(storage, operator, code, write=True)
    errors: dict[str, str] = {}
    pin = _pin(form, errors)
    if errors:
        raise FormErrors(errors)
    out = staff.reset_pin(storage, code, staff_no, pin, by=operator["username"], clock=clock)
    operators.record(storage, actor, "staff.pin_reset", f"staff:{code}/{out['staff_no']}",
                     {"branch": code}, clock=clock)
    return out


def form_values(form: dict) -> dict:
    """What to put back in a refused form: everything but PINs and the CSRF token."""
    return {k: v for k, v in form.items() if k not in ("pin", "pin_again", "csrf")}

