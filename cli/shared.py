"""What every ``lianxin`` command shares: the context object, output and staff-PIN helpers,
and the group classes (domain errors → a Chinese line and exit 1; commands loaded lazily).

The command modules (``cli/*_cmds.py``) import this module and nothing of ``cli.main``;
``cli.main`` builds the root group from them by name, so there is no import cycle. This
module imports only click and the standard library: ``lianxin --help`` loads no part.
"""

from __future__ import annotations

import getpass
import importlib
import json
import os
import sys
from pathlib import Path

import click

ENV_DB = "LIANXIN_DB"
ENV_STAFF_PIN = "LIANXIN_STAFF_PIN"
# Help wraps at the terminal width, up to 100 columns (docs/cli.md is written at 100).
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("lianxin", appauthor=False)) / "terminal.db"


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


class Context:
    """The root group's object: the terminal database path (the default is looked up only
    when a command asks) and the store, opened on first use and closed at the end."""

    def __init__(self, db_path: Path | None = None):
        self._db_path = db_path
        self._store = None

    @property
    def db_path(self) -> Path:
        if self._db_path is None:
            self._db_path = default_db_path()
        return self._db_path

    @db_path.setter
    def db_path(self, value: Path) -> None:
        self._db_path = value

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


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, imported only when one is used.

    ``lazy`` maps a command name to ``("package.module:attr", "short help")``. The short help
    is what the group's own ``--help`` lists, so listing the commands imports none of them;
    tests/test_cli_entry.py checks each one equals the command's real short help.
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx):
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy:
            self.add_command(self.load(name), name)
        return super().get_command(ctx, name)

    def load(self, name: str) -> click.Command:
        module, _, attr = self.lazy[name][0].partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"{self.lazy[name][0]} is not a click command")
        return cmd

    def format_commands(self, ctx, formatter):
        # As click.Group does, but a command not loaded yet is listed by its stored help.
        rows = [(name, self.commands.get(name) or click.Command(name, help=self.lazy[name][1]))
                for name in self.list_commands(ctx)]
        rows = [(name, cmd) for name, cmd in rows if not cmd.hidden]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])


class LianxinGroup(LazyGroup):
    """The root group: turns domain errors into a clear message and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as e:
            # A LianxinError can only have been raised once core.errors was imported; not
            # importing it here keeps `lianxin SUB --help` (click's Exit) free of core.
            errors = sys.modules.get("core.errors")
            if errors is None or not isinstance(e, errors.LianxinError):
                raise
            click.echo(f"错误：{e.zh}", err=True)
            click.echo(f"  ({type(e).__name__}: {e.detail})", err=True)
            ctx.exit(1)
        finally:
            obj = ctx.obj
            if isinstance(obj, Context):
                obj.close()
