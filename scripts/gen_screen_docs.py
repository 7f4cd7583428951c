"""Regenerate the committed kiosk screenshots: ``docs/screens/`` and its README.

    .venv/bin/python scripts/gen_screen_docs.py [--out docs/screens]

1. removes the PNGs a previous run left (so a screen that is gone does not linger);
2. runs ``lianxin kiosk --screenshots OUT`` in a fresh process: every registered screen on
   the demo branch, clock pinned to 2026-11-15, offscreen, at 1280×800 in OUT and at
   1920×1080 and 1080×1920 in OUT/<W>x<H>/;
3. stores each PNG as a 256-colour palette image (the screens are flat colours plus
   anti-aliased text: no visible change, about half the bytes of Kivy's RGBA files, so the
   three sets stay near 2-3 MB);
4. writes OUT/README.md: one line per screen, with links to the three sizes.

Exits non-zero when the kiosk command fails, or when a screen has no description here
(the pictures are still made; add its line to ``DESCRIPTIONS`` and run again).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SIZES = ("1920x1080", "1080x1920")

# One line per registered screen, in kiosk/screens/__init__.py's order (the README's order).
DESCRIPTIONS = {
    "home": "Home: 学习, 交党费, 我的情况, 支部通知 and 呼叫工作人员 (in red); the bar below on every screen (no staff button: staff hold the title). During a visit it greets the member and adds 完成.",
    "who": "Who are you: surname groups with how many members each, 更多姓氏, 输入党员编号.",
    "names": "The members with one surname, a page at a time, and 重新选姓.",
    "number": "The member-number keypad (\"7\" finds QS007).",
    "pin": "The member's 4-digit PIN on the big keypad, taken at the 4th digit; dots show how many digits are in.",
    "status": "我的情况: paid-through month, months unpaid and the amount in large figures, this year's study; 去交党费 when owed, 去学习, 办别的事, 完成.",
    "study": "学习: recommended lessons with length and the reason each is recommended.",
    "lesson": "The lesson reader: large text, the sentence being read underlined, pause / previous / next / quiz.",
    "quiz": "One quiz question per screen with big answer buttons.",
    "quiz_result": "The quiz result and that the study record has been saved; 学下一课, 办别的事, 完成.",
    "notices": "支部通知: one notice per screen in large type, read aloud, previous / pause / next.",
    "dues": "交党费: paid-through month, months owed and amount in huge digits; months to pay now with −/+.",
    "confirm": "Staff confirmation of a cash payment: the amount and one button per staff member.",
    "confirm_pin": "The staff member's PIN on the keypad (digits never shown or spoken).",
    "override": "Beyond the branch's back-pay / pay-ahead limit: staff pick the reason.",
    "clockdate": "The terminal clock looks wrong: staff confirm today's date before money is recorded.",
    "receipt": "The receipt on screen: number, member, months, amount (one form: 17元5角), staff, time, check code; said as its amount and months only.",
    "staff": "Staff mode menu: find a member, today's takings, members behind, messages, terminal state, exit.",
    "staff_takings": "Today's takings with a total, and 打印日报 (the day sheet).",
    "staff_behind": "欠费名单: members 3+ months behind, months unpaid counted as on their own page, a page at a time.",
    "staff_terminal": "Terminal state in words: sync, speech, speech input, printer, storage left (machine-dependent); voice and printer tests.",
    "staff_messages": "留言: a voice message left on the phone line, heard or not, who and when; play, mark heard.",
    "staff_find": "Staff find a member by pinyin initials on an A–Z keypad.",
    "staff_number": "Staff find a member by member number.",
    "staff_found": "The members found, as a list and as buttons.",
    "staff_member": "One member for staff: dues owed, consents, 代交党费, 同意登记.",
    "staff_consent": "Consent capture: keep records, recognise by phone number, voice messages.",
}


def lianxin_command() -> list[str]:
    script = Path(sys.executable).with_name("lianxin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def clean(out: Path) -> None:
    for png in out.glob("*.png"):
        png.unlink()
    for size in SIZES:
        if (out / size).is_dir():
            shutil.rmtree(out / size)


def to_palette(path: Path) -> None:
    """Rewrite ``path`` as a palette PNG (alpha is always opaque in these screenshots)."""
    with Image.open(path) as img:
        rgb = img.convert("RGB")
    rgb.quantize(colors=256).save(path, optimize=True)


def write_readme(out: Path, screens: list[str]) -> None:
    lines = ["# Kiosk screens", "",
             "Every registered kiosk screen on the demo branch (clock pinned to 2026-11-15,",
             "a demo member identified where the screen is personal), rendered offscreen",
             "by `lianxin kiosk --screenshots`. Regenerate with "
             "`.venv/bin/python scripts/gen_screen_docs.py`;",
             "do not edit by hand. Main size 1280×800; the same screens at 1920×1080 and in",
             "portrait 1080×1920 are in the subfolders. Stored as 256-colour PNGs.", "",
             "| screen | 1280×800 | 1920×1080 | 1080×1920 | what it shows |",
             "|---|---|---|---|---|"]
    for name in screens:
        links = " | ".join(f"[{label}]({sub}{name}.png)" for label, sub in
                           (("main", ""), ("wide", "1920x1080/"), ("portrait", "1080x1920/")))
        lines.append(f"| `{name}` | {links} | {DESCRIPTIONS.get(name, '(no description yet)')} |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    clean(out)
    done = subprocess.run([*lianxin_command(), "kiosk", "--screenshots", str(out)], cwd=ROOT)
    if done.returncode != 0:
        print(f"lianxin kiosk --screenshots failed ({done.returncode})", file=sys.stderr)
        return done.returncode
    screens = [p.stem for p in sorted(out.glob("*.png"))]
    order = {name: i for i, name in enumerate(DESCRIPTIONS)}
    screens.sort(key=lambda n: (order.get(n, len(order)), n))
    made = sorted(out.rglob("*.png"))
    for path in made:
        to_palette(path)
    write_readme(out, screens)
    total = sum(p.stat().st_size for p in made)
    print(f"{len(made)} PNGs ({len(screens)} screens × {1 + len(SIZES)} sizes), "
          f"{total / 1e6:.1f} MB, in {out}")
    missing = [n for n in screens if n not in DESCRIPTIONS]
    if missing:
        print(f"no description for {', '.join(missing)}: add them to DESCRIPTIONS in "
              f"scripts/{Path(__file__).name} and run again", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
