"""``lianxin hub operator add|list|disable|passwd|log``: the people who run the hub
(sync.hub.operators; the browser console signs them in). Registered on ``lianxin hub`` by
cli.hub_cmds. Every change goes into the operators' action trail as ``cli:<os user>``."""

from __future__ import annotations

import sys

import click

from .shared import cli_actor, emit


def _hub(ctx):
    from .hub_cmds import _hub as open_hub_db

    return open_hub_db(ctx)


def _actor():
    from sync.hub.operators import Actor

    return Actor(cli_actor(), "local")


def register(hub_group: click.Group) -> None:
    hub_group.add_command(hub_operator)


def _password(username: str, from_stdin: bool) -> str:
    """From standard input's first line (scripts), else asked twice, hidden."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask the password in: use --password-stdin")
    return click.prompt(f"操作员 {username} 的新密码 (password)", hide_input=True,
                        confirmation_prompt="再输入一次 (again)")


@click.group("operator")
def hub_operator():
    """Operator accounts for the browser console: county admin, township operator,
    branch secretary (read-only)."""


@hub_operator.command("add")
@click.argument("username")
@click.option("--name", required=True, help="The person's name (shown in the console).")
@click.option("--role", required=True,
              type=click.Choice(["county_admin", "township_operator", "branch_secretary"]))
@click.option("--township", help="For a township operator: the township of their branches.")
@click.option("--branch", help="For a branch secretary: their branch's code.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_operator_add(ctx, username, name, role, township, branch, password_stdin, as_json):
    """Add an operator account (the password is asked for, or read with --password-stdin)."""
    from sync.hub import operators

    storage = _hub(ctx)
    password = _password(username, password_stdin)
    row = operators.add(storage, _actor(), username=username, name=name, role=role,
                        password=password, township=township, branch=branch)
    emit(row, as_json, lambda r: click.echo(
        f"已添加操作员 {r['username']}（{r['name']}，{operators.ROLES[r['role']]}）"))


def _show_operators(rows: list[dict]) -> None:
    from sync.hub.operators import ROLES

    if not rows:
        click.echo("还没有操作员")
    for r in rows:
        scope = r["township"] or r["branch"] or "全部支部"
        state = "已停用" if r["disabled_at"] else ("已锁定" if r["locked_until"] else "正常")
        click.echo(f"{r['username']:<20} {r['name']:<8} {ROLES[r['role']]:<10} {scope:<12} "
                   f"{state}")


@hub_operator.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_operator_list(ctx, as_json):
    """Every operator account (never a password hash)."""
    from sync.hub import operators

    emit(operators.list_all(_hub(ctx)), as_json, _show_operators)


@hub_operator.command("disable")
@click.argument("username")
@click.pass_context
def hub_operator_disable(ctx, username):
    """Stop an account from signing in (its record and trail stay)."""
    from sync.hub import operators

    operators.disable(_hub(ctx), _actor(), username)
    click.echo(f"已停用操作员 {username}")


@hub_operator.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def hub_operator_passwd(ctx, username, password_stdin):
    """Set a new password for an operator (and lift a lock)."""
    from sync.hub import operators

    storage = _hub(ctx)
    operators.set_password(storage, _actor(), username, _password(username, password_stdin))
    click.echo(f"已为操作员 {username} 设置新密码")


def _show_actions(data: dict) -> None:
    for r in data["actions"]:
        click.echo(f"{r['seq']:>6} {r['at'][:19]} {r['operator']:<20} {r['source']:<15} "
                   f"{r['action']:<22} {r['subject']}")
    broken = data["chain_broken_at"]
    click.echo("记录完整，没有被改动" if broken is None
               else f"注意：第 {broken} 条记录被改动或删除过")


@hub_operator.command("log")
@click.option("--operator", "who", help="Only this operator's actions.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_operator_log(ctx, who, limit, as_json):
    """The operators' action trail (操作记录), newest first, and whether its chain holds
    (exit 1 when it does not)."""
    from sync.hub import operators

    data = operators.trail(_hub(ctx), limit=limit, operator=who)
    emit(data, as_json, _show_actions)
    if data["chain_broken_at"] is not None:
        ctx.exit(1)
