"""Pictures of the hub console's pages, taken in Debian's chromium (headless, Playwright).

    .venv/bin/python scripts/gen_console_docs.py [--out docs/console] [--url URL]

Without ``--url`` it makes its own demo: a hub (``lianxin hub demo``: the demo branch and
its operators) with the demo terminal enrolled and synced, a member added there waiting
as a proposal and a voice message left on its phone line, clock pinned to 2026-11-15, in a temporary folder. With ``--url`` it signs in to a running demo hub (``make demo`` writes
``var/demo/console/`` this way). Each page at an office PC's 1366×768 and at a phone's
390×844, signed in as ``demo-county``; PNGs as 256-colour palette images, and OUT/README.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"login": ("/login", "登录"), "overview": ("/", "总览：各支部收缴率、欠费、学习、终端、待处理"),
         "branch": ("/branch/DEMO-QSC", "支部：12个月党费、欠费党员、党员名单"),
         "queues": ("/queues", "待处理：名单修改申请、重复交费、交费核对"),
         "voice": ("/voice", "语音留言：来电人留下的话，在浏览器里听，记下已听、已跟进"),
         "terminals": ("/terminals", "终端：最后联系、待上传、数据链、时钟（自动更新），生成注册码、停用"),
         "events": ("/queues/events?check=1", "被拒或隔离的记录：上传被拒的终端、终端用不了的记录、已隔离的记录"),
         "log": ("/log", "操作记录：谁、何时、从哪里、做了什么（防篡改）"),
         "content": ("/content/DEMO-QSC",
                     "内容：发布课程（录音上传带进度条）、通知、交费规定、工作人员账号和密码"),
         "exports": ("/exports", "导出：支部的各种表格，下载 XLSX 或 CSV"),
         "member": ("/branch/DEMO-QSC/member/QS004", "党员：党费记录、学习、同意事项（查看记入操作记录）"),
         "summary": ("/branch/DEMO-QSC/summary/2026", "年度党费收缴汇总：向党员公布，可打印（A4）")}
SIZES = {"1366x768": {"width": 1366, "height": 768}, "390x844": {"width": 390, "height": 844}}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]
LIANXIN = str(Path(sys.executable).with_name("lianxin"))


def _run(*args: str, env=None, stdin: str | None = None) -> str:
    return subprocess.run([LIANXIN, *args], check=True, capture_output=True, text=True,
                          env=env, input=stdin).stdout.strip()


_MESSAGE = """import math, struct, sys
from core import calls
from core.store import Store
s = Store.open(sys.argv[1])
pcm = struct.pack("<24000h", *(int(6000 * math.sin(2 * math.pi * 330 * i / 8000))
                               for i in range(24000)))
calls.save_message(s, pcm, 8000, caller="13800000001", member_no="QS001", call_id=None)
s.close()
"""


@contextmanager
def demo_hub():
    """A demo hub with the demo terminal synced, on a free port, for the block."""
    env = {**os.environ, "LIANXIN_NOW": "2026-11-15T10:00:00+08:00"}
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        hub, term = f"{tmp}/hub/hub.db", f"{tmp}/term/terminal.db"
        _run("hub", "--db", hub, "demo", env=env)
        _run("--db", term, "demo", env=env)
        proc = subprocess.Popen([LIANXIN, "hub", "--db", hub, "serve", "--listen",
                                 f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            code = _run("hub", "--db", hub, "enroll-code", "--branch", "DEMO-QSC", env=env)
            _run("--db", term, "enroll", "--hub", url, "--code", code, "--label", "演示活动室",
                 env=env)
            _run("--db", term, "sync", env=env)
            # A member added at the terminal afterwards: a proposal waiting in 待处理.
            _run("--db", term, "member", "add", "QS099", "--name", "钱新来", "--category",
                 "farmer", "--farmer-yuan", "0.50", env=env)
            # And a voice message left on the phone line (its audio goes up with the sync).
            subprocess.run([sys.executable, "-c", _MESSAGE, term], check=True, env=env)
            _run("--db", term, "sync", env=env)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


def shoot(url: str, out: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    made = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for size, viewport in SIZES.items():
            page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
            page.goto(url + "/login")
            page.screenshot(path=str(out / f"login-{size}.png"), full_page=True)
            page.get_by_label("用户名").fill("demo-county")
            page.get_by_label("密码").fill("lianxin-demo")
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(url + "/")
            for name, (path, _) in PAGES.items():
                if name == "login":
                    continue
                page.goto(url + path)
                page.screenshot(path=str(out / f"{name}-{size}.png"), full_page=True)
            # The page an enrollment code is shown on (the answer to the 终端 page's form).
            page.goto(url + "/terminals")
            page.get_by_label("哪个支部的终端").select_option("DEMO-QSC")
            page.get_by_role("button", name="生成注册码").click()
            page.screenshot(path=str(out / f"enroll-code-{size}.png"), full_page=True)
            page.context.close()
        browser.close()
    for png in sorted(out.glob("*.png")):
        Image.open(png).convert("RGB").quantize(256).save(png, optimize=True)
        made.append(png.name)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    parser.add_argument("--url", help="a running demo hub (default: make one)")
    args = parser.parse_args(argv)
    for old in args.out.glob("*.png"):
        old.unlink()
    if args.url:
        shoot(args.url.rstrip("/"), args.out)
    else:
        with demo_hub() as url:
            shoot(url, args.out)
    lines = ["# The hub console", "",
             "Made by `scripts/gen_console_docs.py` (Debian chromium, demo data, signed in as "
             "`demo-county`). Each page at an office PC's 1366×768 and a phone's 390×844.", ""]
    for name, (path, what) in PAGES.items():
        lines.append(f"- **{what}** (`{path}`): [1366×768]({name}-1366x768.png) · "
                     f"[390×844]({name}-390x844.png)")
    lines.append("- **注册码：大字显示，有效期、服务中心地址** (POST `/terminals/enroll-code`): "
                 "[1366×768](enroll-code-1366x768.png) · [390×844](enroll-code-390x844.png)")
    (args.out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
