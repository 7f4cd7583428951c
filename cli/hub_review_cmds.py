"""``lianxin hub report|proposals|accept|reject|double-payments|resolve``: what the
operator reviews and decides — the monthly report, roster edits proposed at terminals, and
member-months paid twice (sync.hub.report, sync.hub.conflicts). Registered on ``lianxin hub``
by cli.hub_cmds."""

from __future__ import annotations

import click

from .shared import cli_actor, emit


def _trail(storage, action: str, subject: str, detail: dict) -> None:
    from .hub_cmds import trail

    trail(storage, action, subject, detail)


def _hub(ctx):
    from .hub_cmds import _hub as open_hub_db

    return open_hub_db(ctx)


def register(hub_group: click.Group) -> None:
    for command in (hub_report, hub_proposals, hub_accept, hub_reject, hub_double_payments,
                    hub_resolve):
        hub_group.add_command(command)


@click.command("report")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole report as JSON (default: a summary for people).")
@click.pass_context
def hub_report(ctx, branch, month, as_json):
    """Dues collected vs expected, members behind, study hours, double payments (one month)."""
    from sync.hub import admin

    emit(admin.branch_report(_hub(ctx), branch, month), as_json,
         lambda d: click.echo(report_text(d)))


def _when(ts: str | None) -> str:
    """'2026-11-15T10:00:00.000+08:00' -> '2026-11-15 10:00' (all hub times are CST)."""
    return ts[:16].replace("T", " ") if ts else "从未"


def report_text(d: dict) -> str:
    """The monthly report (``sync.hub.report.build``) as plain Chinese for a terminal."""
    from core.clock import month_zh
    from core.dues import FLAG_OVERDUE, WARN_OVERDUE
    from core.money import fen_to_yuan

    def yuan(fen: int) -> str:
        return f"{fen_to_yuan(fen)} 元"

    b, dues, m, st = d["branch"], d["dues"], d["members"], d["study"]
    where = f"，{b['township']}" if b.get("township") else ""
    expected, collected = dues["expected_fen"], dues["collected_fen"]
    rate = f"{100 * collected / expected:.1f}%" if expected else "—（本月无应交）"
    behind = d["members_behind"]
    warn = [r for r in behind if r["overdue_months"] >= WARN_OVERDUE]
    flag = [r for r in warn if r["overdue_months"] >= FLAG_OVERDUE]
    lines = [
        f"{b['name']}（{b['code']}{where}）{month_zh(d['month'])} 月报",
        f"生成时间：{_when(d['generated_at'])}",
        "",
        "【党费】",
        f"  应交 {yuan(expected)}，已交 {yuan(collected)}，收缴率 {rate}",
        f"  本月收到 {yuan(dues['received_fen'])}（{sum(r['entries'] for r in dues['received'])} 笔）；"
        f"服务中心共存交费记录 {yuan(dues['ledger_fen'])}"
        f"（{sum(r['entries'] for r in dues['ledger'])} 笔）",
        "",
        f"【欠交党员】{len(behind)} 人，其中逾期 {WARN_OVERDUE} 个月以上 {len(warn)} 人，"
        f"{FLAG_OVERDUE} 个月以上 {len(flag)} 人",
    ]
    for r in sorted(warn, key=lambda r: (-r["overdue_months"], r["member_no"])):
        mark = "  ★需跟进" if r["overdue_months"] >= FLAG_OVERDUE else ""
        lines.append(f"  {r['member_no']:<8} {r['name']}  逾期 {r['overdue_months']} 个月"
                     f"（最早欠 {month_zh(r['months_owed'][0])}），共欠 {yuan(r['amount_owed_fen'])}"
                     f"{mark}")
    if len(behind) > len(warn):
        lines.append(f"  另有 {len(behind) - len(warn)} 人逾期不到 {WARN_OVERDUE} 个月"
                     f"（全部名单：--json）")
    lines += [
        "",
        "【学习】",
        f"  学时 {st['hours']} 小时，{st['sessions']} 次学习，{st['members']} 名党员参加，"
        f"学完课程 {st['completed']} 次",
        "",
        f"【党员】共 {m['known']} 人，在册 {m['active']} 人"
        + (f"，{m['awaiting_acceptance']} 人待接受" if m["awaiting_acceptance"] else ""),
        "",
        f"【终端】{len(d['terminals'])} 台",
    ]
    for t in d["terminals"]:
        lines.append(f"  {t['terminal_id'][:8]} {t['label'] or '-'}  最后联系 {_when(t['last_seen'])}"
                     f"  待传 {t['pending']} 条" + ("  已停用" if t["revoked"] else ""))
    if not d["terminals"]:
        lines.append("  还没有终端注册")
    doubles = d["double_payments"]
    lines += ["", "【待处理】"]
    if m["proposals_pending"]:
        lines.append(f"  终端提交的名册修改 {m['proposals_pending']} 条待审核"
                     f"（lianxin hub proposals --branch {b['code']}）")
    if doubles:
        lines.append(f"  重复交费 {len(doubles)} 笔待核对（lianxin hub double-payments "
                     f"--branch {b['code']}）：")
        lines += [f"    {f['member_no']:<8} {month_zh(f['month'])}  {yuan(f['amount_fen'])}，"
                  f"{len(f['terminals'])} 台终端" for f in doubles]
    checks = d.get("payment_checks") or []
    if checks:
        lines.append(f"  交费核对 {len(checks)} 项（lianxin hub payment-checks --branch "
                     f"{b['code']}）")
    if not (m["proposals_pending"] or doubles or checks):
        lines.append("  没有")
    return "\n".join(lines)


@click.command("proposals")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--all", "everything", is_flag=True, help="Include decided proposals.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_proposals(ctx, branch, everything, as_json):
    """Roster edits made at terminals, waiting for the operator."""
    from sync.hub import admin

    rows = admin.proposals(_hub(ctx), branch, status=None if everything else "pending")
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['event_id']}  {r['type']:<15} {r['payload'].get('member_no', '')} "
        f"{r['payload'].get('name', '')}  {r.get('status', '')}") for r in rows]
        or click.echo("没有待处理的名册修改"))


@click.command("accept")
@click.argument("event_id", required=False)
@click.option("--all", "everything", is_flag=True, help="Accept every pending proposal of --branch.")
@click.option("--branch", help="Branch code (with --all).")
@click.option("--note", help="Why.")
@click.pass_context
def hub_accept(ctx, event_id, everything, branch, note):
    """Accept a roster edit made at a terminal: it goes to the branch's other terminals."""
    from sync.hub import admin

    if everything:
        if not branch:
            raise click.UsageError("--all needs --branch")
        storage = _hub(ctx)
        done = admin.accept_all_proposals(storage, branch, by=cli_actor())
        for row in done:
            _trail(storage, "proposal.accepted", f"proposal:{row['event_id']}",
                  {"branch": branch, "note": ""})
        click.echo(f"已接受 {len(done)} 条")
    elif event_id:
        storage = _hub(ctx)
        row = admin.accept_proposal(storage, event_id, by=cli_actor(), note=note)
        _trail(storage, "proposal.accepted", f"proposal:{event_id}",
              {"branch": row["branch"], "note": note or ""})
        click.echo("已接受")
    else:
        raise click.UsageError("give EVENT_ID or --all --branch ID")


@click.command("reject")
@click.argument("event_id")
@click.option("--note", help="Why.")
@click.pass_context
def hub_reject(ctx, event_id, note):
    """Reject a roster edit made at a terminal (kept on record, not spread)."""
    from sync.hub import admin

    storage = _hub(ctx)
    row = admin.reject_proposal(storage, event_id, by=cli_actor(), note=note)
    _trail(storage, "proposal.rejected", f"proposal:{event_id}",
          {"branch": row["branch"], "note": note or ""})
    click.echo("已拒绝")


@click.command("double-payments")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--all", "everything", is_flag=True, help="Include resolved ones.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_double_payments(ctx, branch, everything, as_json):
    """Member-months paid twice (two terminals or channels), for reconciliation."""
    from sync.hub import admin

    rows = admin.double_payments(_hub(ctx), branch, status=None if everything else "open")
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['member_no']:<8} {r['month']}  {r.get('status', '')}") for r in rows]
        or click.echo("没有重复交费"))


@click.command("resolve")
@click.option("--branch", required=True)
@click.option("--member", "member_no", required=True)
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--note", required=True, help="How it was reconciled (e.g. refunded at the terminal).")
@click.pass_context
def hub_resolve(ctx, branch, member_no, month, note):
    """Close a double-payment flag with a note."""
    from sync.hub import admin

    storage = _hub(ctx)
    admin.resolve_double_payment(storage, branch, member_no, month, note=note, by=cli_actor())
    _trail(storage, "double_payment.resolved", f"member:{branch}/{member_no}",
          {"month": month, "note": note.strip()})
    click.echo("已处理")
