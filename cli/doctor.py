"""``lianxin doctor``: is this terminal ready? Each check says in plain words what to fix.

A check is ``ok`` (True), a warning (None: works, but something is off) or a failure (False).
Village staff read it: each check has a plain-Chinese line (what was found and, when
something is off, what to do), then the English detail for whoever helps them, indented
on the next line as the CLI's errors do (``错误：…`` then ``  (Type: detail)``).
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from core import config, outbox
from core.errors import LianxinError

MARKS = {True: "正常", None: "注意", False: "有问题"}


@dataclass
class Check:
    name: str           # English, for logs and --json
    ok: bool | None
    detail: str         # English: what was measured
    fix: str = ""       # English: what to do
    title: str = ""     # Chinese name of the check
    zh: str = ""        # plain Chinese: what was found and, when not ok, what to do

    def as_dict(self) -> dict:
        return asdict(self)


def format_rows(rows: list[dict]) -> list[str]:
    """Two lines a check: ``[有问题] 标题：中文`` and ``  (name: detail; fix: …)``."""
    lines = []
    for c in rows:
        english = c["detail"] + (f"; fix: {c['fix']}" if c["fix"] else "")
        lines.append(f"[{MARKS[c['ok']]}] {c['title'] or c['name']}：{c['zh'] or english}")
        lines.append(f"  ({c['name']}: {english})")
    return lines


def _since(iso_text: str | None) -> str:
    """An ISO time as staff read it (``2026-11-15 08:30``), or 还没有同步过."""
    return iso_text[:16].replace("T", " ") if iso_text else "还没有同步过"


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
        private = mode & 0o077 == 0
        out.append(Check("key file", private, f"{kp} mode {mode:o}",
                         "" if private else f"chmod 600 {kp}", "密钥文件",
                         "只有本机管理员能读，正常。" if private else
                         f"别的用户也能读到密钥文件。请运行：chmod 600 {kp}"))
    try:
        with Store.open(db_path) as s:
            verdict = audit.verify(s)
            events = outbox.counts(s)["events"]
            out.append(Check("store", True, f"{db_path} opens (encrypted), {events} journal events",
                             title="本机数据", zh=f"能打开（已加密），共有{events}条记录。"))
            out.append(Check("audit chain", verdict.ok, f"{verdict.entries} entries" + (
                "" if verdict.ok else ": " + "; ".join(verdict.problems[:3])),
                "" if verdict.ok else "The audit chain is broken: keep this file and tell the hub "
                "operator; do not delete anything.", "审计记录",
                f"完好，共{verdict.entries}条。" if verdict.ok else
                "审计记录对不上，数据可能被改动过。请保留这个文件，什么都不要删，"
                "并告诉服务站的管理员。"))
    except LianxinError as e:
        out.append(Check("store", False, f"{type(e).__name__}: {e.detail}",
                         "lianxin init (or lianxin demo for the demo branch)", "本机数据",
                         e.zh + "新终端请运行 lianxin init 建立数据（演示用 lianxin demo）。"))
    free = shutil.disk_usage(db_path.parent if db_path.parent.exists() else Path.cwd()).free
    roomy = free > 500 * 2**20
    out.append(Check("disk", roomy, f"{free // 2**20} MiB free",
                     "" if roomy else "Free some disk space (need 500 MiB).", "磁盘",
                     f"还剩{free // 2**20}MB，够用。" if roomy else
                     f"磁盘快满了，只剩{free // 2**20}MB。请清理出至少500MB的空间，"
                     "不然新的记录可能存不下。"))
    return out


def check_fonts() -> Check:
    fonts = [line for line in _run(["fc-list", ":lang=zh", "family"]).splitlines() if line.strip()]
    return Check("Chinese font", bool(fonts), ", ".join(sorted(set(fonts))[:2]) or "none found",
                 "" if fonts else "apt-get install fonts-wqy-microhei (make setup does this)",
                 "中文字体", "已经装好。" if fonts else
                 "没有中文字体，屏幕上的字会显示不出来。请运行：apt-get install "
                 "fonts-wqy-microhei（make setup 会装好）。")


def check_speech_out() -> list[Check]:
    """A real synthesis of a short sentence, and where the sound would go."""
    if not shutil.which("espeak-ng"):
        return [Check("speech out", False, "espeak-ng not installed", "apt-get install espeak-ng",
                      "说话", "没有装语音合成程序，终端不能把字读出来。"
                      "请运行：apt-get install espeak-ng")]
    from voice.audio import open_player
    from voice.tts import Pyttsx3Engine, TTSError

    voice = config.get("voice")
    try:
        pcm = Pyttsx3Engine(voice=voice, wpm=int(config.get("voice_wpm"))).synthesize("你好", 16000)
        spoke = len(pcm) > 3200
        speech = Check("speech out", spoke,
                       f"pyttsx3 + espeak-ng voice {voice}: {len(pcm) / 32000:.1f} s for 你好",
                       "" if spoke else "apt-get install espeak-ng; check LIANXIN_VOICE", "说话",
                       "能把字读出来（试读了“你好”）。" if spoke else
                       "试读“你好”没有读出声音。请重新安装 espeak-ng，并检查 LIANXIN_VOICE 设置。")
    except TTSError as e:
        speech = Check("speech out", False, f"voice {voice}: {e}",
                       "apt-get install espeak-ng; check LIANXIN_VOICE", "说话",
                       "语音合成出错，终端不能把字读出来。请重新安装 espeak-ng，"
                       "并检查 LIANXIN_VOICE 设置。")
    _, where = open_player()
    card = where.startswith("sound out")
    sound = Check("sound card", True if card else None, where,
                  "" if card else
                  "Without a sound card the kiosk runs silently; connect speakers for members.",
                  "声音", "有声卡，能放出声音。" if card else
                  "没有找到声卡，终端只显示、不出声。请接上音箱，方便党员听。")
    return [speech, sound]


def check_speech_in() -> Check:
    model = config.get("vosk_model")
    if not model:
        env = config.SETTINGS["vosk_model"].env
        return Check("speech in", None, "no vosk model configured: speech input is off, "
                     "touch and keypad do everything", f"Install a model and set {env}.",
                     "听懂说话", "没有设置语音识别模型，党员用触摸和按键，一切照常。"
                     f"需要时请装好模型，并设置 {env}。")
    ok = Path(model).is_dir()
    return Check("speech in", ok, f"model {model} {'found' if ok else 'missing'}",
                 "" if ok else "Check the model folder path.", "听懂说话",
                 "语音识别模型已经装好。" if ok else
                 f"找不到语音识别模型的文件夹 {model}，请检查这个路径。")


def check_printer() -> Check:
    printer = config.get("printer")
    if not printer:
        env = config.SETTINGS["printer"].env
        return Check("printer", None, "no receipt printer configured: receipts are shown on screen",
                     f"Set {env} (e.g. usb:0x0416:0x5011).", "收据打印机",
                     "没有设置打印机，收据只显示在屏幕上。需要打印时，"
                     f"请设置 {env}（例如 usb:0x0416:0x5011）。")
    return Check("printer", True, f"configured: {printer}", title="收据打印机",
                 zh=f"已经设置：{printer}。")


def check_hub(db_path: Path) -> Check:
    """The hub this terminal enrolled with (stored in the terminal), reachable right now?"""
    from core.errors import LianxinError
    from core.store import Store

    url = config.get("hub_url")
    last, waiting = None, 0
    try:
        with Store.open(db_path) as s:
            st = outbox.sync_status(s)
            url, last, waiting = st["hub_url"] or url, st["last_success"], st["waiting_events"]
    except LianxinError:
        pass
    if not url:
        return Check("hub", None, "not enrolled with a hub: everything stays on this terminal",
                     "Ask the hub operator for an enrollment code: lianxin enroll --hub URL --code CODE",
                     "服务站", "还没有登记到服务站，数据都只存在这台终端上。请向服务站要一个注册码，"
                     "然后运行：lianxin enroll --hub 服务站地址 --code 注册码")
    import urllib.request

    news = f"上次同步：{_since(last)}，还有{waiting}件事等着同步。"
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as r:
            ok = r.status == 200
            return Check("hub", ok, f"{url} answered {r.status}; last sync {last or 'never'}; "
                         f"{waiting} events waiting", title="服务站",
                         zh=("能连上。" if ok else "服务站的回答不正常，请联系服务站。") + news)
    except OSError as e:
        return Check("hub", None, f"{url} not reachable now ({e}); last sync {last or 'never'}; "
                     f"{waiting} events waiting; data waits on the terminal and syncs when the "
                     "link is back", title="服务站",
                     zh="现在连不上服务站。数据先存在本机，网络好了会自动同步，不用处理；"
                     "如果一连几天都连不上，请联系服务站。" + news)


def check_clock() -> Check:
    """A pinned clock (``LIANXIN_NOW``) is for tests and demos: on a real terminal every
    payment would carry that one moment."""
    from core.clock import ENV_NOW, default_clock, iso, pinned_moment

    try:
        pinned = pinned_moment()
    except LianxinError as e:
        return Check("clock", False, f"{ENV_NOW} is set but unreadable: {e.detail}",
                     f"unset {ENV_NOW}", title="时间",
                     zh="终端的时间设置有误，请联系技术人员处理。")
    if pinned is not None:
        return Check("clock", False, f"{ENV_NOW}={iso(pinned)} freezes the clock (tests only)",
                     f"unset {ENV_NOW} in this terminal's environment", title="时间",
                     zh="终端的时间被固定住了（只用于测试），请联系技术人员处理。")
    return Check("clock", True, f"system clock: {iso(default_clock().now())}", title="时间",
                 zh="终端的时间正常。")


def run(db_path: Path) -> list[Check]:
    return [*check_store(db_path), check_clock(), check_fonts(), *check_speech_out(),
            check_speech_in(), check_printer(), check_hub(db_path)]
