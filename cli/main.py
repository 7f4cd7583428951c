"""``lianxin``: the command line. Each command parses its input, calls one core function and
prints the result (``--json`` for machines). Domain errors become a plain-Chinese line plus
the English detail, and exit status 1; usage errors exit 2.

This module is the entry point (``lianxin``, ``python -m cli``): it builds the root group
from :data:`COMMANDS`, which names each command's module and its short help, so a command
module is imported only when that command runs or shows its help. The shared pieces
(``Context``, ``emit``, staff PINs, error handling) live in :mod:`cli.shared`; parts other
than core are imported lazily inside their commands, so the CLI starts fast and works on a
terminal where, say, the kiosk's packages are not installed.
"""

from __future__ import annotations

from pathlib import Path

import click

from .shared import (  # noqa: F401  (re-exported: tests and benches import them from here)
    CONTEXT_SETTINGS,
    ENV_DB,
    ENV_STAFF_PIN,
    Context,
    LianxinGroup,
    cli_actor,
    confirm_staff,
    default_db_path,
    emit,
    pass_ctx,
    staff_pin,
)

# name -> ("module:attr", short help). The short help is what `lianxin --help` lists without
# importing the module; tests/test_cli_entry.py checks it against the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("cli.terminal_cmds:audit_group", "The tamper-evident audit chain."),
    "calls": ("cli.calls_cmds:calls_group",
              "Calls to the phone line, and voice messages left for the staff."),
    "consent": ("cli.terminal_cmds:consent_group",
                "A member's consent to what the terminal keeps."),
    "demo": ("cli.terminal_cmds:demo_cmd",
             "Create a terminal holding the fictional demo branch (if there is none yet) and "
             "show what it holds."),
    "doctor": ("cli.terminal_cmds:doctor",
               "Check the store, key, fonts, speech, model, printer and hub; say what to fix."),
    "dues": ("cli.dues_cmds:dues_group",
             "Party dues: what is owed, what was paid, recording cash."),
    "enroll": ("cli.sync_cmds:enroll_cmd",
               "Enroll this terminal with a hub (makes the terminal's own key pair)."),
    "hub": ("cli.hub_cmds:hub_group",
            "The township/county hub: branches, terminals, content, and the sync server."),
    "init": ("cli.terminal_cmds:init",
             "Create this terminal's encrypted store and key file for one branch."),
    "kiosk": ("cli.kiosk_cmds:kiosk_cmd",
              "Run the touchscreen kiosk on this terminal's store (offscreen if there is no "
              "display)."),
    "member": ("cli.member_cmds:member", "Add, list, show and import members."),
    "phone": ("cli.phone_cmds:phone_cmd",
              "Answer calls: identify the caller, read dues status, lessons and notices, take "
              "messages."),
    "show": ("cli.terminal_cmds:show", "What this terminal holds, in numbers."),
    "staff": ("cli.terminal_cmds:staff_group", "Staff accounts (secretary, dues collector)."),
    "study": ("cli.study_cmds:study_group",
              "Lessons, study hours and explained recommendations."),
    "sync": ("cli.sync_cmds:sync_cmd",
             "Run one sync with the hub and print what moved (or the sync state, or the "
             "scheduler)."),
    "voice": ("cli.voice_cmds:voice_group", "Speech prompts: prerender, staff recordings, test."),
}


@click.group(cls=LianxinGroup, lazy=COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar=ENV_DB, show_envvar=True,
              help="Terminal database file (default: the user data folder's terminal.db).")
@click.version_option(package_name="lianxin")
@click.pass_context
def cli(ctx, db_path):
    """Lianxin (连心): the branch member-service terminal.

    Every command works offline on the terminal's encrypted local store.
    """
    ctx.obj = Context(db_path)


def main() -> None:
    cli(prog_name="lianxin")


if __name__ == "__main__":
    main()
