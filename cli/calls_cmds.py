"""``lianxin calls …``: calls to the phone line and the voice messages callers left."""

from __future__ import annotations

import click

from core import calls

from .shared import cli_actor, confirm_staff, emit, pass_ctx


@click.group("calls")
def calls_group():
    """Calls to the phone line, and voice messages left for the staff."""


def _show_calls(rows: list[dict]) -> None:
    if not rows:
        click.echo("还没有来电记录。")
    for r in rows:
        who = f"{r['member_no']} {r['member_name']}" if r["member_no"] else "未确认身份"
        extra = f"  留言{r['messages']}条" if r["messages"] else ""
        click.echo(f"{r['started_at'][:16].replace('T', ' ')}  {r['caller'] or '无号码'}  {who}  "
                   f"{r['seconds']}秒  {r['outcome_zh']}{extra}")
        click.echo(f"    {' → '.join(r['path'])}")


@calls_group.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--member", "member_no", help="Only the calls of this member.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def calls_list(ctx, limit, member_no, as_json):
    """Calls, newest first: caller, times, member, path through the menus, outcome."""
    rows = calls.list_calls(ctx.store(), limit=limit, member_no=member_no, reader=cli_actor())
    emit(rows, as_json, _show_calls)


@calls_group.command("messages")
@click.option("--unheard", is_flag=True, help="Only messages nobody has marked as heard.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def calls_messages(ctx, unheard, as_json):
    """Voice messages, newest first, with the path of each WAV file."""
    rows = calls.list_messages(ctx.store(), unheard_only=unheard, reader=cli_actor())

    def human(rows):
        if not rows:
            click.echo("没有留言。")
        for r in rows:
            heard = "已听 " + r["heard_by"] if r["heard_at"] else "未听"
            click.echo(f"{r['recorded_at'][:16].replace('T', ' ')}  "
                       f"{r['member_no'] or r['caller'] or '无号码'}  {r['seconds']}秒  {heard}  "
                       f"{r['path']}")

    emit(rows, as_json, human)


@calls_group.command("heard")
@click.argument("message_id")
@click.option("--staff", "staff_no", required=True, help="Staff number (asks the staff PIN).")
@pass_ctx
def calls_heard(ctx, message_id, staff_no):
    """Mark MESSAGE_ID as heard by a staff member."""
    confirm_staff(ctx, staff_no)
    row = calls.mark_heard(ctx.store(), message_id, staff_no=staff_no)
    click.echo(f"已标记为听过（{row['heard_by']}，{row['heard_at'][:16].replace('T', ' ')}）。")
