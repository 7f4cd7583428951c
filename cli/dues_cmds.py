"""``lianxin dues …``: quotes, status, history and recording cash."""

from __future__ import annotations

import click

from core import dues, dues_rules
from core.clock import month_zh
from core.money import fen_to_yuan, fen_zh, yuan_to_fen

from .shared import cli_actor, confirm_staff, emit, pass_ctx

LEVEL_ZH = {"ok": "正常", "warning": "提醒：连续3个月以上未交", "flag": "重点关注：连续6个月以上未交"}


@click.group("dues")
def dues_group():
    """Party dues: what is owed, what was paid, recording cash."""


@dues_group.command("quote")
@click.option("--category", type=click.Choice(list(dues_rules.CATEGORIES)), required=True)
@click.option("--income", "income_yuan", help="Monthly after-tax wage or pension, in yuan.")
@click.option("--farmer-yuan", help="A farmer's amount set by the branch (0.20-1.00 yuan).")
@click.option("--json", "as_json", is_flag=True, help='Print {"monthly_fen", "monthly_yuan", "rule"}.')
def dues_quote(category, income_yuan, farmer_yuan, as_json):
    """Print the monthly dues for a category (and income)."""
    q = dues_rules.quote(category, income_fen=yuan_to_fen(income_yuan) if income_yuan else None,
                         farmer_fen=yuan_to_fen(farmer_yuan) if farmer_yuan else None)
    emit(q.as_dict(), as_json,
         lambda d: click.echo(f"每月 {d['monthly_yuan']} 元（{d['rule_zh']}）\n{d['rule']}"))


@dues_group.command("status")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dues_status(ctx, member_no, as_json):
    """Paid-through month, months and amount owed."""
    s = dues.status(ctx.store(), member_no, reader=cli_actor())

    def human(d):
        click.echo(f"{d['member_no']} {d['name']}：{s.say_zh()}")
        if d["months_owed"]:
            click.echo("未交月份：" + "、".join(month_zh(m) for m in d["months_owed"]))
        click.echo(f"每月 {d['monthly_yuan']} 元；{LEVEL_ZH[d['level']]}")

    emit(s.as_dict(), as_json, human)


@dues_group.command("history")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dues_history(ctx, member_no, as_json):
    """Every ledger entry of a member, oldest first."""
    rows = dues.history(ctx.store(), member_no, reader=cli_actor())

    def human(rows):
        for r in rows:
            months = "、".join(month_zh(m) for m in r["months"]) or "自愿多交"
            click.echo(f"{r['recorded_at'][:16]}  {r['receipt_no']}  {r['amount_yuan']:>8} 元  "
                       f"{r['kind']}  {months}  收款人 {r['collected_by']}")
        click.echo(f"共 {len(rows)} 笔")

    emit(rows, as_json, human)


@dues_group.command("pay")
@click.argument("member_no")
@click.option("--months", type=int, required=True, help="How many months (oldest unpaid first).")
@click.option("--staff", "staff_no", required=True,
              help="Staff number confirming the cash (PIN asked, or LIANXIN_STAFF_PIN).")
@click.option("--method", type=click.Choice(list(dues.METHODS)), default="cash", show_default=True)
@click.option("--paid-by", help="Who handed over the money, when paid through a relative.")
@click.option("--override-reason", help="Reason for exceeding the branch's back/ahead limits.")
@click.option("--date-confirmed", is_flag=True, help="Staff checked today's date (clock warning).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dues_pay(ctx, member_no, months, staff_no, method, paid_by, override_reason,
             date_confirmed, as_json):
    """Record a cash payment of MONTHS months for MEMBER_NO, confirmed by staff PIN."""
    confirmation = confirm_staff(ctx, staff_no)
    r = dues.pay(ctx.store(), member_no, months=months, confirmation=confirmation, method=method,
                 paid_by=paid_by, override_reason=override_reason, date_confirmed=date_confirmed)

    def human(d):
        click.echo(f"收据 {d['receipt_no']}  校验码 {d['check_code']}")
        click.echo(f"{d['member_name']}（{d['member_no']}）交纳党费 {fen_zh(d['amount_fen'])}"
                   f"（{fen_to_yuan(d['amount_fen'])} 元）")
        click.echo("月份：" + "、".join(month_zh(m) for m in d["months"]))
        click.echo(f"收款人：{d['collector_name']}  时间：{d['recorded_at'][:16]}")

    emit(r.as_dict(), as_json, human)


@dues_group.command("behind")
@click.option("--min", "min_overdue", type=int, default=dues.WARN_OVERDUE, show_default=True,
              help="At least this many months overdue.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dues_behind(ctx, min_overdue, as_json):
    """Members behind with their dues (warning from 3 months, flag at 6)."""
    rows = [s.as_dict() for s in dues.behind(ctx.store(), min_overdue)]
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['member_no']:<8} {r['name']}\t欠 {len(r['months_owed'])} 个月\t"
        f"{r['amount_owed_yuan']} 元\t{LEVEL_ZH[r['level']]}") for r in rows]
        or click.echo("没有人拖欠"))


@dues_group.command("takings")
@click.option("--day", help="YYYY-MM-DD (default today).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dues_takings(ctx, day, as_json):
    """What was collected on a day, with the total."""
    t = dues.takings(ctx.store(), day)

    def human(d):
        for r in d["entries"]:
            click.echo(f"{r['recorded_at'][11:16]}  {r['receipt_no']}  {r['member_no']} {r['name']}"
                       f"  {fen_to_yuan(r['amount_fen'])} 元  {r['collected_by']}")
        click.echo(f"{d['day']} 合计 {d['total_yuan']} 元，{len(d['entries'])} 笔")

    emit(t, as_json, human)
