"""``lianxin member …``: the roster."""

from __future__ import annotations

import click

from core import members
from core.dues_rules import CATEGORIES
from core.money import yuan_to_fen

from .shared import cli_actor, emit, pass_ctx

_CATEGORY = click.Choice(list(CATEGORIES))


@click.group("member")
def member():
    """Add, list, show and import members."""


@member.command("add")
@click.argument("member_no")
@click.option("--name", required=True, help="Name in Chinese characters.")
@click.option("--category", type=_CATEGORY, required=True, help="Dues category.")
@click.option("--income", "income_yuan", help="Monthly after-tax wage or pension in yuan (employed, retired).")
@click.option("--farmer-yuan", help="A farmer's monthly dues in yuan, 0.20-1.00, set by the branch.")
@click.option("--joined", help="Date joined the Party, YYYY-MM-DD.")
@click.option("--probation", is_flag=True, help="A probationary member (pays from the admission month).")
@click.option("--phone", "phones", multiple=True, help="A phone number for caller recognition (repeatable).")
@click.option("--dues-from", help="First month dues are asked for, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print the new member as JSON.")
@pass_ctx
def member_add(ctx, member_no, name, category, income_yuan, farmer_yuan, joined, probation,
               phones, dues_from, as_json):
    """Add member MEMBER_NO and fix this year's monthly dues."""
    row = members.add(
        ctx.store(), member_no=member_no, name=name, category=category,
        income_fen=yuan_to_fen(income_yuan) if income_yuan else None,
        farmer_fen=yuan_to_fen(farmer_yuan) if farmer_yuan else None, joined=joined,
        probation=probation, phones=list(phones), dues_from=dues_from, actor=cli_actor())
    emit(row, as_json, lambda r: click.echo(
        f"已添加 {r['member_no']} {r['name']}（{CATEGORIES[r['category']]}），"
        f"每月党费 {r['rates'][-1]['monthly_fen'] / 100:.2f} 元"))


@member.command("list")
@click.option("--all", "everyone", is_flag=True, help="Include members who left or transferred.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of members.")
@pass_ctx
def member_list(ctx, everyone, as_json):
    """List the branch's members."""
    rows = members.list_all(ctx.store(), status=None if everyone else "active")

    def human(rows):
        for r in rows:
            click.echo(f"{r['member_no']:<8} {r['name']:<6}\t{CATEGORIES[r['category']]}\t{r['status']}")
        click.echo(f"共 {len(rows)} 人")

    emit(rows, as_json, human)


@member.command("show")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctx
def member_show(ctx, member_no, as_json):
    """Show one member's record (the read is written to the audit chain)."""
    row = members.get(ctx.store(), member_no, reader=cli_actor())

    def human(r):
        click.echo(f"{r['member_no']} {r['name']}  拼音首字母 {r['initials']}")
        click.echo(f"类别：{CATEGORIES[r['category']]}  状态：{r['status']}"
                   f"{'  预备党员' if r['probation'] else ''}")
        click.echo(f"入党日期：{r['joined'] or '—'}  党费起算：{r['dues_from']}")
        click.echo(f"电话：{'、'.join(r['phones']) or '—'}")
        for rate in r["rates"]:
            click.echo(f"{rate['year']}年每月党费 {rate['monthly_fen'] / 100:.2f} 元（{rate['rule']}）")

    emit(row, as_json, human)


@member.command("find")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_ctx
def member_find(ctx, query, as_json):
    """Find members by number, part of a name, or pinyin initials (e.g. zsf)."""
    rows = members.lookup(ctx.store(), query, reader=cli_actor())
    emit(rows, as_json, lambda rows: [click.echo(f"{r['member_no']:<8} {r['name']}") for r in rows]
         or click.echo("没有找到"))


@member.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Only check the file; import nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the validation report as JSON.")
@pass_ctx
def member_import(ctx, path, skip_bad_rows, dry_run, as_json):
    """Import members from a CSV or XLSX roster, with a row-by-row validation report.

    A file with any bad row imports nothing unless --skip-bad-rows is given.
    """
    from core import roster_import

    report = roster_import.import_file(ctx.store(), path, skip_bad_rows=skip_bad_rows,
                                       dry_run=dry_run, actor=cli_actor())
    show_import_report(report, as_json, skip_bad_rows)


def show_import_report(report, as_json: bool, skip_bad_rows: bool) -> None:
    """A roster import's row-level report (terminal and hub alike); exit 1 if rows were bad."""

    def human(rep):
        for p in rep["problems"]:
            where = f"第{p['row']}行" + (f"（{p['column']}）" if p.get("column") else "")
            click.echo(f"{where}：{p['message_zh']}  [{p['message']}]")
        click.echo(f"共 {rep['rows']} 行，导入 {rep['imported']} 人，跳过 {rep['skipped']} 行"
                   + ("（仅检查，未导入）" if rep["dry_run"] else ""))

    emit(report.as_dict(), as_json, human)
    if report.problems and not skip_bad_rows:
        raise SystemExit(1)


@member.command("set-pin")
@click.argument("member_no")
@pass_ctx
def member_set_pin(ctx, member_no):
    """Set a member's 4-digit PIN (asked twice, never echoed)."""
    from core import pins

    pin = click.prompt("新密码 (new PIN)", hide_input=True, confirmation_prompt=True)
    pins.set_pin(ctx.store(), "member", member_no, pin, actor=cli_actor())
    click.echo("密码已设置。")
