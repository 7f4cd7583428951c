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
        click.echo(f"    {' → '.join(r['path'])}    （编号 {r['call_id']}）")


@calls_group.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--member", "member_no", help="Only the calls of this member.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def calls_list(ctx, limit, member_no, as_json):
    """Calls, newest first: caller, times, member, path through the menus, outcome (--json:
    with each call's timeline; `calls show` prints one)."""
    rows = calls.list_calls(ctx.store(), limit=limit, member_no=member_no, reader=cli_actor())
    emit(rows, as_json, _show_calls)


def _show_call(r: dict) -> None:
    _show_calls([r])
    click.echo("    （时间从接通算起，单位秒）")
    for e in r["timeline"]:
        at = f"{e['t_ms'] / 1000:7.1f}"
        if e["kind"] == "say":
            cut = "  （被打断）" if e["cut"] else ""
            click.echo(f"    {at}–{e['end_ms'] / 1000:<7.1f} 播放：{e['text']}{cut}")
        elif e["kind"] == "key":
            shown = "（密码）" if e["key"] == "•" else e["key"]
            click.echo(f"    {at}          按键：{shown}")
        else:
            click.echo(f"    {at}          说：{e['text']}（把握{e['confidence']:.0%}）")


@calls_group.command("show")
@click.argument("call_id")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def calls_show(ctx, call_id, as_json):
    """One call with its timeline: each prompt heard (start and end from answer, cut short
    or not) and each key or phrase, in order. PIN digits show as •."""
    row = calls.get_call(ctx.store(), call_id, reader=cli_actor())
    emit(row, as_json, _show_call)


@calls_group.command("messages")
@click.option("--unheard", is_flag=True, help="Only messages nobody has marked as heard.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def calls_messages(ctx, unheard, as_json):
    """Voice messages, newest first (export one with `calls export`)."""
    calls.housekeep(ctx.store())  # the retention rule staff set
    rows = calls.list_messages(ctx.store(), unheard_only=unheard, reader=cli_actor())

    def human(rows):
        if not rows:
            click.echo("没有留言。")
        for r in rows:
            heard = "已听 " + r["heard_by"] if r["heard_at"] else "未听"
            click.echo(f"{r['recorded_at'][:16].replace('T', ' ')}  "
                       f"{r['member_no'] or r['caller'] or '无号码'}  {r['seconds']}秒  {heard}  "
                       f"{r['message_id']}" + ("" if r["audio"] else "  录音已过保存期限删除"))

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


@calls_group.command("export")
@click.argument("message_id")
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
@click.option("--staff", "staff_no", required=True, help="Staff number (asks the staff PIN).")
@pass_ctx
def calls_export(ctx, message_id, dest, staff_no):
    """Write MESSAGE_ID's recording to DEST as a WAV file (0600; never overwrites)."""
    confirm_staff(ctx, staff_no)
    try:
        path = calls.export_message(ctx.store(), message_id, dest, reader=f"staff:{staff_no}")
    except FileExistsError:
        raise click.UsageError(f"{dest} already exists; choose another name") from None
    click.echo(f"已保存：{path}")


@calls_group.command("retention")
@click.argument("days", required=False)
@click.option("--staff", "staff_no", help="Staff number (asks the staff PIN); needed to change it.")
@pass_ctx
def calls_retention(ctx, days, staff_no):
    """Show, or set (DAYS, or "off"), how long a heard message's recording is kept."""
    store = ctx.store()
    if days is not None:
        if not staff_no:
            raise click.UsageError("changing the retention needs --staff")
        if days != "off" and not days.isdigit():
            raise click.UsageError("DAYS is a whole number of days, or off")
        confirm_staff(ctx, staff_no)
        removed = calls.set_retention(store, None if days == "off" else int(days),
                                      staff_no=staff_no)
        if removed:
            click.echo(f"已删除{removed}条过期录音。")
    kept = calls.retention_days(store)
    click.echo(f"听过的留言录音保存{kept}天。" if kept else "留言录音一直保存（没有设保存天数）。")
