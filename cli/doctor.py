"""``lianxin doctor``: is this terminal ready? Each check says in plain words what to fix.

A check is ``ok`` (True), a warning (None: works, but something is off) or a failure (False).
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from core import config


@dataclass
class Check:
    name: str
    ok: bool | None
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def check_store(db_path: Path) -> list[Check]:
    from core import audit
    from core.errors import LianxinError
    from core.store import Store, key_path

    out = []
    kp = key_path(db_path)
    if kp.exists():
        mode = stat.S_IMODE(kp.stat().st_mode)
        out.append(Check("key file", mode & 0o077 == 0, f"{kp} mode {mode:o}",
                         "" if mode & 0o077 == 0 else f"chmod 600 {kp}"))
    try:
        with Store.open(db_path) as s:
            verdict = audit.verify(s)
            events = s.one("SELECT count(*) AS n FROM journal")["n"]
            out.append(Check("store", True, f"{db_path} opens (encrypted), {events} journal events"))
            out.append(Check("audit chain", verdict.ok, f"{verdict.entries} entries" + (
                "" if verdict.ok else ": " + "; ".join(verdict.problems[:3])),
                "" if verdict.ok else "The audit chain is broken: keep this file and tell the hub "
                "operator; do not delete anything."))
    except LianxinError as e:
        out.append(Check("store", False, e.detail, e.zh + " (lianxin init / lianxin demo)"))
    free = shutil.disk_usage(db_path.parent if db_path.parent.exists() else Path.cwd()).free
    out.append(Check("disk", free > 500 * 2**20, f"{free // 2**20} MiB free",
                     "" if free > 500 * 2**20 else "Free some disk space (need 500 MiB)."))
    return out


def check_fonts() -> Check:
    fonts = [line for line in _run(["fc-list", ":lang=zh", "family"]).splitlines() if line.strip()]
    return Check("Chinese font", bool(fonts), ", ".join(sorted(set(fonts))[:2]) or "none found",
                 "" if fonts else "apt-get install fonts-wqy-microhei (make setup does this)")


def check_speech_out() -> list[Check]:
    """A real synthesis of a short sentence, and where the sound would go."""
    if not shutil.which("espeak-ng"):
        return [Check("speech out", False, "espeak-ng not installed", "apt-get install espeak-ng")]
    from voice.audio import open_player
    from voice.tts import Pyttsx3Engine, TTSError

    voice = config.get("voice")
    try:
        pcm = Pyttsx3Engine(voice=voice, wpm=int(config.get("voice_wpm"))).synthesize("你好", 16000)
        speech = Check("speech out", len(pcm) > 3200,
                       f"pyttsx3 + espeak-ng voice {voice}: {len(pcm) / 32000:.1f} s for 你好")
    except TTSError as e:
        speech = Check("speech out", False, f"voice {voice}: {e}",
                       "apt-get install espeak-ng; check LIANXIN_VOICE")
    _, where = open_player()
    sound = Check("sound card", True if where.startswith("sound out") else None, where,
                  "" if where.startswith("sound out") else
                  "Without a sound card the kiosk runs silently; connect speakers for members.")
    return [speech, sound]


def check_speech_in() -> Check:
    model = config.get("vosk_model")
    if not model:
        return Check("speech in", None, "no vosk model configured: speech input is off, "
                     "touch and keypad do everything",
                     f"Install a model and set {config.SETTINGS['vosk_model'].env}.")
    ok = Path(model).is_dir()
    return Check("speech in", ok, f"model {model} {'found' if ok else 'missing'}",
                 "" if ok else "Check the model folder path.")


def check_printer() -> Check:
    printer = config.get("printer")
    if not printer:
        return Check("printer", None, "no receipt printer configured: receipts are shown on screen",
                     f"Set {config.SETTINGS['printer'].env} (e.g. usb:0x0416:0x5011).")
    return Check("printer", True, f"configured: {printer}")


def check_hub(db_path: Path) -> Check:
    """The hub this terminal enrolled with (stored in the terminal), reachable right now?"""
    from core.errors import LianxinError
    from core.store import Store

    url = config.get("hub_url")
    try:
        with Store.open(db_path) as s:
            url = s.meta("sync.hub_url") or url
            last = s.meta("sync.last_success")
    except LianxinError:
        last = None
    if not url:
        return Check("hub", None, "not enrolled with a hub: everything stays on this terminal",
                     "Ask the hub operator for an enrollment code: lianxin enroll --hub URL --code CODE")
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as r:
            return Check("hub", r.status == 200, f"{url} answered {r.status}; last sync {last or 'never'}")
    except OSError as e:
        return Check("hub", None, f"{url} not reachable now ({e}); last sync {last or 'never'}; "
                     "data waits on the terminal and syncs when the link is back")


def run(db_path: Path) -> list[Check]:
    return [*check_store(db_path), check_fonts(), *check_speech_out(), check_speech_in(),
            check_printer(), check_hub(db_path)]
