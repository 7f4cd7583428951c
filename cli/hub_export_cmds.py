"""``lianxin hub export|summary|member-record``: a branch's tables as XLSX or CSV, the
yearly collection summary it publishes to its members, and one member's record — the same
service functions as the console's 导出 page, printable summary and member page
(sync.hub.exports, sync.hub.yearly, sync.hub.member_record). Registered on ``lianxin hub``
by cli.hub_cmds. Exports and member records go on the operators' trail as
``cli:<os user>``."""

from __future__ import annotations

from pathlib import Path

import click

from .shared import cli_actor, emit

TABLES = ("members", "payments", "behind", "study", "study_hours", "terminals", "trail")


def _hub(ctx):
    from .hub_cmds import _hub as open_hub_db

    return open_hub_db(ctx)


def _actor():
    from sync.hub.operators import Actor

    return Actor(cli_actor(), "local")


def register(hub_group: click.Group) -> None:
    for command in (hub_export, hub_summary, hub_member_record):
        hub_group.add_command(command)


@click.command("export")
@click.option("--branch", help="Branch code (every table but trail).")
@click.option("--table", "table", required=True, type=click.Choice(TABLES),
              help="members, payments, behind (months owed), study (sittings), study_hours "
                   "(per member), terminals, or trail (the operators' action trail).")
@click.option("--format", "fmt", required=True, type=click.Choice(["xlsx", "csv"]))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (CSV: UTF-8 with a byte-order mark, for Excel).")
@click.pass_context
def hub_export(ctx, branch, table, fmt, out):
    """Write a branch's table as XLSX or CSV, Chinese headers (on the trail)."""
    from sync.hub import exports

    if table != "trail" and not branch:
        raise click.UsageError("--branch is needed for every table but trail")
    done = exports.export(_hub(ctx), _actor(), branch, table, fmt)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(done.body)
    tmp.replace(out)
    click.echo(f"已导出{exports.TITLES[table]} {done.rows} 行到 {out}")


@click.command("summary")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--year", required=True, type=click.IntRange(2000, 9999))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_summary(ctx, branch, year, as_json):
    """The yearly dues collection summary a branch publishes to its members."""
    from sync.hub import yearly

    emit(yearly.summary(_hub(ctx), branch, year), as_json, _show_summary)


def _show_summary(d: dict) -> None:
    t, m = d["totals"], d["members"]
    rate = "—" if t["rate"] is None else f"{t['rate']}%"
    click.echo(f"{d['branch']['name']} {d['year']}年党费收缴情况（到{d['last_month']}）")
    for row in d["months"]:
        r = "—" if row["rate"] is None else f"{row['rate']}%"
        click.echo(f"  {row['month']}  应交 {row['expected_yuan']:>10}  实交 "
                   f"{row['collected_yuan']:>10}  {r}")
    click.echo(f"合计 应交 {t['expected_yuan']} 元，实交 {t['collected_yuan']} 元，收缴率 {rate}；"
               f"自愿多交 {t['voluntary_yuan']} 元")
    click.echo(f"党员 {m['active']} 人：已交齐 {m['paid_up']} 人，欠交 {m['behind']} 人"
               f"（3个月以上 {m['behind_3']}，6个月以上 {m['behind_6']}）")


@click.command("member-record")
@click.option("--branch", required=True, help="Branch code.")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_member_record(ctx, branch, member_no, as_json):
    """One member's dues history, study and consents (opening it goes on the trail)."""
    from sync.hub import member_record

    emit(member_record.open_record(_hub(ctx), _actor(), branch, member_no), as_json,
         _show_member)


def _show_member(d: dict) -> None:
    m, dues, st = d["member"], d["dues"], d["study"]
    click.echo(f"{m['member_no']} {m['name']}（{d['branch']['name']}）{m['status_zh']}，"
               f"从{m['dues_from']}交党费")
    click.echo(f"欠交 {len(dues['months_owed'])} 个月，{dues['amount_owed_yuan']} 元"
               if dues["months_owed"] else "党费已交到本月")
    for e in dues["entries"]:
        click.echo(f"  {e['recorded_at'][:16]}  {e['receipt_no']:<14} {e['kind_zh']:<4} "
                   f"{'、'.join(e['months']):<24} {e['amount_yuan']:>8} 元  {e['method_zh']}  "
                   f"{e['confirmed_by']}")
    click.echo(f"学习 {len(st['sittings'])} 次，{st['hours']} 小时")
    for c in d["consents"]:
        click.echo(f"  {c['at'][:16]}  {c['scope_zh']}：{'同意' if c['granted'] else '撤回'}"
                   f"（{c['method_zh']}）")
