"""Write docs/cli.md from the CLI's own --help texts (run by `make docs`; a test checks the
file is current, so the docs never drift from the code)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.main import cli  # noqa: E402

HEADER = """# `lianxin` command line

Generated from the commands' own help by `make docs` (scripts/gen_cli_docs.py); do not edit
by hand. Every command takes `--help`; commands that print data take `--json`.
"""


def _walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], [*path, name])


def render() -> str:
    parts = [HEADER]
    for path, cmd in _walk(cli, ["lianxin"]):
        ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100,
                            help_option_names=["-h", "--help"])
        parts.append(f"\n## `{' '.join(path)}`\n\n```\n{cmd.get_help(ctx)}\n```\n")
    return "".join(parts)


if __name__ == "__main__":
    out = ROOT / "docs" / "cli.md"
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
