"""``lianxin enroll`` and ``lianxin sync``: the terminal side of sync (the hub: hub_cmds.py)."""

from __future__ import annotations

import click

from .shared import emit, pass_ctx


@click.command("enroll")
@click.option("--hub", "hub_url", required=True, help="The hub's URL, e.g. https://hub.example:8443.")
@click.option("--code", required=True, help="The one-time enrollment code from the hub operator.")
@click.option("--label", default="", help="A name for this terminal, e.g. 清水村活动室.")
@pass_ctx
def enroll_cmd(ctx, hub_url, code, label):
    """Enroll this terminal with a hub (makes the terminal's own key pair).

    On a path with no store yet, this makes the encrypted store for the code's branch;
    the first `lianxin sync` then brings its roster, staff, policy, lessons and notices.
    """
    from sync import client

    new = not ctx.db_path.exists()
    result = client.enroll(ctx.db_path, hub_url, code, label=label)
    click.echo(f"已注册到服务中心：{result['branch']['name']}（{result['branch']['code']}）")
    if new:
        click.echo(f"已建立终端数据：{ctx.db_path}（密钥 {ctx.db_path}.key，请妥善保管）")
        click.echo("请运行 lianxin sync 取得支部的党员、工作人员、学习内容和通知。")


@click.command("sync")
@click.option("--status", "show_status", is_flag=True, help="Show last success, last error and what waits.")
@click.option("--due", is_flag=True,
              help="One scheduler tick: sync if the night window, a retry or a returning link says so.")
@click.option("--daemon", is_flag=True, help="Keep ticking (instead of the systemd timer).")
@click.option("--window", default="01:00-05:00", show_default=True,
              help="The nightly window (CST) for --due/--daemon; a random start inside it.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def sync_cmd(ctx, show_status, due, daemon, window, as_json):
    """Run one sync with the hub and print what moved (or the sync state, or the scheduler)."""
    from sync import client, schedule

    if due or daemon:
        policy = schedule.Policy.parse_window(window)
        if daemon:
            raise SystemExit(schedule.run_daemon(ctx.db_path, policy=policy))
        emit(schedule.run_due(ctx.db_path, policy=policy), True)
        return
    store = ctx.store()
    if show_status:
        st = {**client.status(store), "schedule": schedule.status(store)}
        emit(st, as_json, lambda d: click.echo(
            f"服务中心：{d['hub_url'] or '未注册'}\n上次成功：{d['last_success'] or '从未'}\n"
            f"等待发送：{d['waiting_events']} 条\n下次自动同步：{d['schedule']['next_run'] or '未安排'}"
            + (f"\n上次错误：{d['last_error']['zh']}（{d['last_error']['error']}）"
               if d["last_error"] else "")))
        return
    report = client.sync_once(store)
    emit(report, as_json, lambda d: click.echo(
        f"发送 {d['pushed']} 条（重复 {d['duplicates']}），收到 {d['pulled']} 条，"
        f"{d['bytes_sent']} 字节上行 / {d['bytes_received']} 字节下行，"
        f"{d['round_trips']} 次往返，用时 {d['duration_s']} 秒"))
