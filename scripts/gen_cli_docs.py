"""Write docs/cli.md from the help the real ``lianxin`` entry point prints (run by
`make docs`; tests/test_cli.py checks the file is current the same way, so the docs never
drift from what an operator sees).

Every page comes from a subprocess ``lianxin … --help`` (``python -m cli`` where the script is
not installed) at a fixed terminal width, with no LIANXIN_* settings; the command tree is
read from those pages' "Commands:" sections, so nothing is taken from click's objects.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = 102  # click wraps help at min(COLUMNS, max_content_width=100) - 2 = 100

HEADER = """# `lianxin` command line

Generated from the commands' own help by `make docs` (scripts/gen_cli_docs.py); do not edit
by hand. Every command takes `--help`; commands that print data take `--json`.
"""

_COMMAND_ROW = re.compile(r"^  (\S+)")


def entry_point() -> list[str]:
    """The installed ``lianxin`` script beside this Python, else ``python -m cli``."""
    script = Path(sys.executable).with_name("lianxin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def help_page(path: list[str]) -> str:
    """What ``lianxin PATH --help`` prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    env.update(COLUMNS=str(COLUMNS), LINES="24", PYTHONUTF8="1", PYTHONIOENCODING="utf-8")
    done = subprocess.run([*entry_point(), *path, "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    if done.returncode != 0 or done.stderr.strip():
        raise RuntimeError(f"`lianxin {' '.join(path)} --help` exited {done.returncode}:\n"
                           f"{done.stderr}")
    return done.stdout.rstrip("\n")


def subcommands(page: str) -> list[str]:
    """The command names listed in a help page's "Commands:" section."""
    names, inside = [], False
    for line in page.splitlines():
        if line == "Commands:":
            inside = True
        elif inside and not line.strip():
            break
        elif inside and (m := _COMMAND_ROW.match(line)):
            names.append(m.group(1))
    return names


def pages(path: list[str] | None = None):
    """(path, page) for ``lianxin`` and every command and subcommand, depth first."""
    path = path or []
    page = help_page(path)
    yield path, page
    for name in subcommands(page):
        yield from pages([*path, name])


def render() -> str:
    parts = [HEADER]
    for path, page in pages():
        parts.append(f"\n## `{' '.join(['lianxin', *path])}`\n\n```\n{page}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    out = ROOT / "docs" / "cli.md"
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
