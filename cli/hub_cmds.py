"""``lianxin hub …``: the township/county hub — branches, terminals, roster, staff, policy,
content, reconciliation, the monthly report and the sync server.

``hub --db`` (or ``LIANXIN_HUB_DB``) is needed only when a command runs: ``--help`` works
anywhere, and a command without it is a usage error (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from .shared import CONTEXT_SETTINGS, cli_actor, emit

ENV_HUB_DB = "LIANXIN_HUB_DB"


@click.group("hub", context_settings=CONTEXT_SETTINGS)
@click.option("--db", "hub_db", envvar=ENV_HUB_DB, show_envvar=True, metavar="FILE|URL",
              help="The hub's database: a file (SQLite, encrypted), or a PostgreSQL URL "
                   "postgresql://USER@HOST:PORT/DB (needed by every command but --help).")
@click.pass_context
def hub_group(ctx, hub_db):
    """The township/county hub: branches, terminals, content, and the sync server."""
    if hub_db is not None and not hub_db.startswith(("postgresql://", "postgres://")):
        if hub_db.startswith(("postgres:", "postgresql:")) or "://" in hub_db:
            # A mistyped URL must not silently become a local folder of that name.
            raise click.BadParameter(f"{hub_db!r} is neither a file name nor a URL "
                                     "postgresql://USER@HOST:PORT/DB", param_hint="--db")
        hub_db = Path(hub_db)
    ctx.meta["hub_db"] = hub_db


def hub_db_path() -> Path | str:
    """The hub's database file (or PostgreSQL URL), or a usage error (exit 2) when it was
    not given."""
    path = click.get_current_context().meta.get("hub_db")
    if path is None:
        raise click.UsageError(f"Missing --db / {ENV_HUB_DB}: the hub's database file "
                               f"(lianxin hub --db FILE ...).")
    return path


def _hub(ctx):
    from sync.hub import open_hub

    return open_hub(hub_db_path())


@hub_group.command("serve")
@click.option("--listen", default="127.0.0.1:8440", show_default=True, help="HOST:PORT")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.pass_context
def hub_serve(ctx, listen, cert, key):
    """Serve the sync protocol over HTTP(S)."""
    from sync.hub import server

    host, port = server.parse_listen(listen)
    server.serve(hub_db_path(), host, port, certfile=cert, keyfile=key)


@hub_group.command("migrate-encrypt")
@click.pass_context
def hub_migrate_encrypt(ctx):
    """Encrypt a hub database made before encryption at rest, in place (stop the hub first;
    back up the new key file apart from the database)."""
    from sync.hub.storage import encrypt_plain_hub

    if isinstance(hub_db_path(), str):
        raise click.UsageError("migrate-encrypt is for a hub database file; on PostgreSQL, "
                               "encryption at rest is the database server's (docs/security.md)")
    kp = encrypt_plain_hub(hub_db_path())
    click.echo(f"已加密服务中心数据库；密钥文件 {kp}，请与数据库分开备份。")


def trail(storage, action: str, subject: str, detail: dict | None = None) -> None:
    """A CLI action on the operators' trail, as the console's (who: ``cli:<user>``, from
    ``local``): the hub's one record of what its operators did, whichever way."""
    from sync.hub import operators

    operators.record(storage, operators.Actor(cli_actor(), "local"), action, subject, detail)


@hub_group.group("branch")
def hub_branch():
    """Branches served by this hub."""


@hub_branch.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--township", default="")
@click.pass_context
def hub_branch_create(ctx, code, name, township):
    """Create a branch."""
    from sync.hub import admin

    storage = _hub(ctx)
    admin.create_branch(storage, code=code, name=name, township=township)
    trail(storage, "branch.created", f"branch:{code}", {"name": name, "township": township})
    click.echo(f"已建立支部 {code} {name}")


@hub_branch.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_branch_list(ctx, as_json):
    """List branches."""
    from sync.hub import admin

    emit(admin.list_branches(_hub(ctx)), as_json, lambda rows: [click.echo(
        f"{r['code']:<12} {r['name']}") for r in rows])


@hub_group.command("enroll-code")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--ttl-hours", type=int, default=72, show_default=True)
@click.pass_context
def hub_enroll_code(ctx, branch, ttl_hours):
    """Print a one-time code that enrolls one terminal into BRANCH."""
    from sync.hub import admin

    storage = _hub(ctx)
    issued = admin.issue_enroll_code(storage, branch, ttl_hours=ttl_hours)
    trail(storage, "terminal.enroll_code", f"branch:{branch}",
          {"expires_ms": issued["expires_ms"]})
    click.echo(issued["code"])


@hub_group.command("demo")
@click.pass_context
def hub_demo(ctx):
    """Load the demo branch: the same branch, staff (PIN 2468) and members (PIN 1234) as the
    terminal's `lianxin demo`, with its lessons and notices; the console's demo operators
    (password lianxin-demo); and a second township, 白沙镇's DEMO-BSC, whose months of dues
    and study a demo terminal enrolled here pushes (assets/demo/README.md)."""
    from sync.hub import admin

    emit(admin.load_demo(_hub(ctx), people=True), True)


@hub_group.command("terminals")
@click.option("--branch", help="Only this branch.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_terminals(ctx, branch, as_json):
    """Terminals with last-seen time, pending events, audit chain and clock state."""
    from sync.hub import admin

    def clock(r):
        if r["clock"] == "ok":
            return ""
        return (f"  clock AHEAD ({r['future_events']} events from the future, latest "
                f"{r['future_latest_at']})")

    emit(admin.list_terminals(_hub(ctx), branch), as_json, lambda rows: [click.echo(
        f"{r['terminal_id'][:8]} {r['branch']:<10} {r['label'] or '-':<10} "
        f"last seen {r['last_seen'] or 'never'}  pending {r['pending']}  chain {r['chain']}"
        + clock(r) + ("  REVOKED" if r["revoked"] else "")) for r in rows])


@hub_group.command("revoke")
@click.argument("terminal_id")
@click.pass_context
def hub_revoke(ctx, terminal_id):
    """Revoke a terminal: it is refused from now on."""
    from sync.hub import admin

    storage = _hub(ctx)
    row = admin.revoke_terminal(storage, terminal_id)
    trail(storage, "terminal.revoked", f"terminal:{terminal_id}", {"branch": row["branch"]})
    click.echo(f"已停用终端 {terminal_id}")


@hub_group.command("report")
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


@hub_group.command("proposals")
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


@hub_group.command("accept")
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
            trail(storage, "proposal.accepted", f"proposal:{row['event_id']}",
                  {"branch": branch, "note": ""})
        click.echo(f"已接受 {len(done)} 条")
    elif event_id:
        storage = _hub(ctx)
        row = admin.accept_proposal(storage, event_id, by=cli_actor(), note=note)
        trail(storage, "proposal.accepted", f"proposal:{event_id}",
              {"branch": row["branch"], "note": note or ""})
        click.echo("已接受")
    else:
        raise click.UsageError("give EVENT_ID or --all --branch ID")


@hub_group.command("reject")
@click.argument("event_id")
@click.option("--note", help="Why.")
@click.pass_context
def hub_reject(ctx, event_id, note):
    """Reject a roster edit made at a terminal (kept on record, not spread)."""
    from sync.hub import admin

    storage = _hub(ctx)
    row = admin.reject_proposal(storage, event_id, by=cli_actor(), note=note)
    trail(storage, "proposal.rejected", f"proposal:{event_id}",
          {"branch": row["branch"], "note": note or ""})
    click.echo("已拒绝")


@hub_group.command("double-payments")
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


@hub_group.command("resolve")
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
    trail(storage, "double_payment.resolved", f"member:{branch}/{member_no}",
          {"month": month, "note": note.strip()})
    click.echo("已处理")


@hub_group.group("roster")
def hub_roster():
    """A branch's member roster at the hub."""


@hub_roster.command("import")
@click.option("--branch", required=True, help="Branch code.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows even if some rows are bad.")
@click.option("--dry-run", is_flag=True, help="Only check the file; import nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the validation report as JSON.")
@click.pass_context
def hub_roster_import(ctx, branch, path, skip_bad_rows, dry_run, as_json):
    """Import members from a CSV or XLSX roster into BRANCH, with a row-by-row report.

    The same rules as `lianxin member import`; a file with any bad row imports nothing
    unless --skip-bad-rows. Imported members reach the branch's terminals on their next sync.
    """
    from sync.hub import admin

    from .member_cmds import show_import_report

    storage = _hub(ctx)
    report = admin.import_roster(storage, branch, path, skip_bad_rows=skip_bad_rows,
                                 dry_run=dry_run, actor=cli_actor())
    if report.imported and not dry_run:
        trail(storage, "roster.imported", f"branch:{branch}",
              {"members": len(report.member_nos), "file": Path(path).name})
    show_import_report(report, as_json, skip_bad_rows)


@hub_group.group("staff")
def hub_staff():
    """Staff accounts of a branch, made at the hub."""


@hub_staff.command("add")
@click.option("--branch", required=True, help="Branch code.")
@click.argument("staff_no")
@click.option("--name", required=True)
@click.option("--role", required=True, help="secretary, collector or staff.")
@click.pass_context
def hub_staff_add(ctx, branch, staff_no, name, role):
    """Add a staff account to BRANCH; the PIN is asked twice. It works on the branch's
    terminals after their next sync."""
    from sync.hub import admin

    storage = _hub(ctx)  # before the prompt: a missing --db is said at once
    pin = click.prompt("密码 (PIN, 4-6 digits)", hide_input=True, confirmation_prompt=True)
    out = admin.add_staff(storage, branch, staff_no=staff_no, name=name, role=role, pin=pin,
                          actor=cli_actor())
    trail(storage, "staff.added", f"staff:{branch}/{out['staff_no']}",
          {"branch": branch, "name": out["name"], "role": out["role"]})
    click.echo(f"已添加工作人员 {staff_no} {name}")


@hub_staff.command("list")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def hub_staff_list(ctx, branch, as_json):
    """The staff accounts the hub made for BRANCH (no PINs)."""
    from sync.hub import admin

    emit(admin.list_staff(_hub(ctx), branch), as_json, lambda rows: [click.echo(
        f"{s['staff_no']}\t{s['name']}\t{s['role_zh']}\t"
        f"密码重设：{(s['pin_set_at'] or '无')[:16]}") for s in rows])


@hub_staff.command("pin")
@click.option("--branch", required=True, help="Branch code.")
@click.argument("staff_no")
@click.pass_context
def hub_staff_pin(ctx, branch, staff_no):
    """Give a staff account of BRANCH a new PIN (4-6 digits, asked twice). Every terminal
    of the branch takes it at its next sync; the old PIN stops working there."""
    from sync.hub import admin

    storage = _hub(ctx)
    pin = click.prompt("新密码 (PIN, 4-6 digits)", hide_input=True, confirmation_prompt=True)
    out = admin.reset_staff_pin(storage, branch, staff_no, pin, by=cli_actor())
    trail(storage, "staff.pin_reset", f"staff:{branch}/{out['staff_no']}", {"branch": branch})
    click.echo(f"已为工作人员 {out['staff_no']} {out['name']} 设置新密码，各终端下次同步后生效")


@hub_group.group("policy")
def hub_policy():
    """A branch's dues policy."""


@hub_policy.command("set")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--back-pay-limit", type=click.IntRange(min=0), required=True,
              help="Months of arrears a terminal takes without an override.")
@click.option("--pay-ahead-limit", type=click.IntRange(min=0), required=True,
              help="Months a member may pay ahead.")
@click.pass_context
def hub_policy_set(ctx, branch, back_pay_limit, pay_ahead_limit):
    """Set BRANCH's dues policy; its terminals take it on their next sync."""
    from sync.hub import admin

    storage = _hub(ctx)
    admin.set_policy(storage, branch, back_pay_limit=back_pay_limit,
                     pay_ahead_limit=pay_ahead_limit)
    trail(storage, "policy.set", f"branch:{branch}",
          {"to": [back_pay_limit, pay_ahead_limit]})
    click.echo(f"已设置：补交最多 {back_pay_limit} 个月，预交最多 {pay_ahead_limit} 个月")


@hub_group.group("lesson")
def hub_lesson():
    """Study lessons sent to a branch's terminals."""


@hub_lesson.command("publish")
@click.option("--branch", required=True, help="Branch code.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--id", "lesson_id", help="Lesson id (default: the file name without .toml).")
@click.option("--audio", type=click.Path(exists=True, dir_okay=False),
              help="An audio file read with the lesson (downloaded by the terminals): "
                   "WAV, MP3, Ogg or M4A by its bytes, at most 20 MB.")
@click.pass_context
def hub_lesson_publish(ctx, branch, path, lesson_id, audio):
    """Publish (or replace) the lesson in a TOML file (the format of assets/demo/lessons)."""
    from sync.hub import content

    storage = _hub(ctx)
    out = content.publish_lesson_file(storage, branch, path, lesson_id=lesson_id, audio=audio)
    trail(storage, "lesson.published", f"lesson:{branch}/{out['lesson_id']}",
          {"branch": branch, "title": out["title"]})
    click.echo(f"已发布课程 {out['lesson_id']} {out['title']}"
               + (f"（音频 {out['audio_size']} 字节）" if out["audio_sha256"] else ""))


@hub_group.group("notice")
def hub_notice():
    """Notices shown on a branch's terminals."""


@hub_notice.command("post")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--title", required=True)
@click.option("--body", required=True)
@click.option("--posted", help="Date shown on the notice, YYYY-MM-DD (default: today).")
@click.pass_context
def hub_notice_post(ctx, branch, title, body, posted):
    """Post a notice to BRANCH's terminals."""
    from datetime import date

    from core.clock import default_clock
    from sync.hub import admin

    if posted:
        try:
            posted = date.fromisoformat(posted).isoformat()
        except ValueError as e:
            raise click.BadParameter("YYYY-MM-DD", param_hint="--posted") from e
    storage = _hub(ctx)
    posted = posted or default_clock().now().date().isoformat()
    out = admin.post_notice(storage, branch, title=title, body=body, posted=posted)
    trail(storage, "notice.posted", f"notice:{branch}/{out['notice_id']}",
          {"branch": branch, "title": title, "posted": posted})
    click.echo(f"已发布通知 {out['notice_id']}")


# The branch log and payment checks: their own module, registered on this group.
from .hub_log_cmds import register as _register_log_cmds  # noqa: E402

_register_log_cmds(hub_group)

from .hub_operator_cmds import register as _register_operator_cmds  # noqa: E402

_register_operator_cmds(hub_group)

from .hub_voice_cmds import register as _register_voice_cmds  # noqa: E402

_register_voice_cmds(hub_group)

from .hub_export_cmds import register as _register_export_cmds  # noqa: E402

_register_export_cmds(hub_group)
