"""``lianxin doctor``: is this terminal ready? Each check says in plain words what to fix.

A check is ``ok`` (True), a warning (None: works, but something is off) or a failure (False).
"""

from __future__ import annotations

import importlib.util
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


def check_speech_out() -> Check:
    if not shutil.which("espeak-ng"):
        return Check("speech out", False, "espeak-ng not installed", "apt-get install espeak-ng")
    voices = _run(["espeak-ng", "--voices=cmn"])
    has_cmn = "cmn" in voices
    pyttsx3 = importlib.util.find_spec("pyttsx3") is not None
    ok = has_cmn and pyttsx3
    return Check("speech out", ok if ok else None,
                 f"espeak-ng Mandarin voice {'found' if has_cmn else 'missing'}; "
                 f"pyttsx3 {'installed' if pyttsx3 else 'not installed yet (voice issue)'}",
                 "" if ok else "Speech arrives with the voice part; until then prompts are shown only.")


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


def check_hub() -> Check:
    url = config.get("hub_url")
    if not url:
        return Check("hub", None, "not enrolled with a hub: everything stays on this terminal",
                     "Enroll when the hub is set up (sync issue).")
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as r:
            return Check("hub", r.status == 200, f"{url} answered {r.status}")
    except OSError as e:
        return Check("hub", None, f"{url} not reachable now ({e}); data waits and syncs later")


def run(db_path: Path) -> list[Check]:
    return [*check_store(db_path), check_fonts(), check_speech_out(), check_speech_in(),
            check_printer(), check_hub()]
