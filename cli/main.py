"""``lianxin``: the command line. Each command parses its input, calls one core function and
prints the result (``--json`` for machines). Domain errors become a plain-Chinese line plus
the English detail, and exit status 1; usage errors exit 2.

Parts other than core are imported lazily inside their commands, so the CLI starts fast
and works on a terminal where, say, the kiosk's packages are not installed.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import click

from core.errors import LianxinError

ENV_DB = "LIANXIN_DB"
ENV_STAFF_PIN = "LIANXIN_STAFF_PIN"


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("lianxin", appauthor=False)) / "terminal.db"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


class Context:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._store = None

    def store(self):
        if self._store is None:
            from core.store import Store

            self._store = Store.open(self.db_path)
        return self._store

    def close(self):
        if self._store is not None:
            self._store.close()
            self._store = None


pass_ctx = click.make_pass_decorator(Context)


def emit(data, as_json: bool, human=None) -> None:
    """Print ``data`` as JSON, or through ``human(data)`` for people."""
    if as_json or human is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        human(data)


def staff_pin(staff_no: str) -> str:
    pin = os.environ.get(ENV_STAFF_PIN)
    if pin:
        return pin
    if not sys.stdin.isatty():
        raise click.UsageError(f"staff PIN: set {ENV_STAFF_PIN} or run in a terminal to be asked")
    return click.prompt(f"工作人员 {staff_no} 的密码 (staff PIN)", hide_input=True)


def confirm_staff(ctx: Context, staff_no: str):
    from core import branch

    return branch.confirm(ctx.store(), staff_no, staff_pin(staff_no))


class LianxinGroup(click.Group):
    """Turns domain errors into a clear message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LianxinError as e:
            click.echo(f"错误：{e.zh}", err=True)
            click.echo(f"  ({type(e).__name__}: {e.detail})", err=True)
            ctx.exit(1)
        finally:
            obj = ctx.obj
            if isinstance(obj, Context):
                obj.close()


@click.group(cls=LianxinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar=ENV_DB, show_envvar=True,
              help="Terminal database file (default: the user data folder's terminal.db).")
@click.version_option(package_name="lianxin")
@click.pass_context
def cli(ctx, db_path):
    """Lianxin (连心): the branch member-service terminal.

    Every command works offline on the terminal's encrypted local store.
    """
    ctx.obj = Context(db_path or default_db_path())


def main() -> None:
    cli()


# The command modules register themselves on `cli`.
from . import (  # noqa: E402
    calls_cmds,  # noqa: F401
    dues_cmds,  # noqa: F401
    kiosk_cmds,  # noqa: F401
    member_cmds,  # noqa: F401
    phone_cmds,  # noqa: F401
    study_cmds,  # noqa: F401
    sync_cmds,  # noqa: F401
    terminal_cmds,  # noqa: F401
    voice_cmds,  # noqa: F401
)

if __name__ == "__main__":
    main()
