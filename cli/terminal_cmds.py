"""``lianxin init | demo | show | audit verify | consent … | doctor``: the terminal itself."""

from __future__ import annotations

import secrets

import click

from core import audit, branch, consent, dues, members, notices, outbox, study
from core.store import Store

from .shared import cli_actor, confirm_staff, emit, pass_ctx


def summary(store) -> dict:
    """What a terminal holds, in numbers (no personal data)."""
    b = branch.get(store)
    statuses = [dues.status(store, m["member_no"]) for m in members.list_all(store)]
    return {
        "branch": b.name, "branch_code": b.code, "terminal_id": store.terminal_id,
        "members": len(statuses),
        "members_owing": sum(1 for s in statuses if s.months_owed),
        "members_warning": sum(1 for s in statuses if s.level == "warning"),
        "members_flagged": sum(1 for s in statuses if s.level == "flag"),
        "amount_owed_fen": sum(s.amount_owed_fen for s in statuses),
        "staff": len(branch.list_staff(store)),
        "lessons": len(study.lessons(store)),
        "notices": len(notices.recent(store, 1000)),
        "ledger_entries": dues.entry_count(store),
        "journal_events": outbox.counts(store)["events"],
        "audit_ok": audit.verify(store).ok,
    }


def _print_summary(d: dict) -> None:
    click.echo(f"{d['branch']}（{d['branch_code']}）  终端 {d['terminal_id'][:8]}")
    click.echo(f"党员 {d['members']} 人，工作人员 {d['staff']} 人，课程 {d['lessons']} 课，"
               f"通知 {d['notices']} 条")
    click.echo(f"欠交党费 {d['members_owing']} 人（提醒 {d['members_warning']} 人，"
               f"重点关注 {d['members_flagged']} 人），共 {d['amount_owed_fen'] / 100:.2f} 元")
    click.echo(f"党费记录 {d['ledger_entries']} 笔，日志事件 {d['journal_events']} 条，"
               f"审计链{'完好' if d['audit_ok'] else '有问题！请运行 lianxin audit verify'}")


@click.command("init")
@click.option("--branch", "branch_name", required=True, help="The branch's name, e.g. 清水村党支部.")
@click.option("--code", help="The branch code the hub knows it by (default: a new random code).")
@click.option("--township", default="", help="Township or street the branch belongs to.")
@pass_ctx
def init(ctx, branch_name, code, township):
    """Create this terminal's encrypted store and key file for one branch.

    Creates no default credentials: add staff with `lianxin staff add`.
    """
    with Store.create(ctx.db_path) as s:
        branch.setup(s, code=code or f"BR-{secrets.token_hex(3).upper()}", name=branch_name,
                     township=township, actor=cli_actor())
    click.echo(f"已建立终端数据：{ctx.db_path}（密钥 {ctx.db_path}.key，请妥善保管）")


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print what the terminal holds as JSON.")
@pass_ctx
def demo_cmd(ctx, as_json):
    """Create a terminal holding the fictional demo branch (if there is none yet) and show
    what it holds. Demo PINs: members 1234, staff S01 2468."""
    from core import demo

    if not ctx.db_path.exists():
        with Store.create(ctx.db_path) as s:
            demo.load(s)
        if not as_json:
            click.echo(f"已建立演示终端：{ctx.db_path}")
    emit(summary(ctx.store()), as_json, _print_summary)


@click.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx, as_json):
    """What this terminal holds, in numbers."""
    emit(summary(ctx.store()), as_json, _print_summary)


@click.group("staff")
def staff_group():
    """Staff accounts (secretary, dues collector)."""


@staff_group.command("add")
@click.argument("staff_no")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(list(branch.STAFF_ROLES)), default="staff", show_default=True)
@pass_ctx
def staff_add(ctx, staff_no, name, role):
    """Add a staff account; the PIN is asked twice."""
    pin = click.prompt("密码 (PIN, 4-6 digits)", hide_input=True, confirmation_prompt=True)
    branch.add_staff(ctx.store(), staff_no=staff_no, name=name, role=role, pin=pin, actor=cli_actor())
    click.echo(f"已添加工作人员 {staff_no} {name}")


@staff_group.command("set-pin")
@click.argument("staff_no")
@pass_ctx
def staff_set_pin(ctx, staff_no):
    """Change a staff PIN (the current one first); works here at once, elsewhere once the hub accepts."""
    from core import pins

    confirm_staff(ctx, staff_no)  # the current PIN; wrong tries count toward the lockout
    pin = click.prompt("新密码 (new PIN)", hide_input=True, confirmation_prompt=True)
    pins.set_pin(ctx.store(), "staff", staff_no, pin, actor=f"staff:{staff_no}")
    enrolled = ctx.store().meta("sync.branch")
    click.echo("密码已修改，本机马上可用。" + ("同步后交乡镇服务中心确认，确认后其他终端也可用。"
                                              if enrolled else ""))


@staff_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def staff_list(ctx, as_json):
    """List staff accounts."""
    emit(branch.list_staff(ctx.store()), as_json, lambda rows: [click.echo(
        f"{r['staff_no']:<6} {r['name']}\t{branch.STAFF_ROLES[r['role']]}") for r in rows])


@click.group("audit")
def audit_group():
    """The tamper-evident audit chain."""


@audit_group.command("verify")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def audit_verify(ctx, as_json):
    """Check every audit entry; name any that was edited, deleted or moved. Exit 1 if broken."""
    v = audit.verify(ctx.store())

    def human(d):
        if d["ok"]:
            click.echo(f"审计链完好：{d['entries']} 条记录。")
        else:
            click.echo(f"审计链被改动过！共 {d['entries']} 条，发现 {len(d['problems'])} 处问题：")
            for p in d["problems"]:
                click.echo(f"  - {p}")

    emit(v.as_dict(), as_json, human)
    if not v.ok:
        raise SystemExit(1)


@click.group("consent")
def consent_group():
    """A member's consent to what the terminal keeps."""


@consent_group.command("show")
@click.argument("member_no")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def consent_show(ctx, member_no, as_json):
    """Current answers per scope."""
    state = consent.current(ctx.store(), member_no)
    emit(state, as_json, lambda d: [click.echo(
        f"{'同意' if v else '未同意'}  {consent.SCOPES[k]}  ({k})") for k, v in d.items()])


@consent_group.command("set")
@click.argument("member_no")
@click.argument("scope", type=click.Choice(list(consent.SCOPES)))
@click.argument("answer", type=click.Choice(["grant", "withdraw"]))
@click.option("--witness", required=True, help="Staff number who witnessed the member's answer.")
@pass_ctx
def consent_set(ctx, member_no, scope, answer, witness):
    """Record a member's answer, witnessed by staff."""
    fn = consent.grant if answer == "grant" else consent.withdraw
    fn(ctx.store(), member_no, scope, method="staff", witness=witness)
    click.echo("已记录。")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def doctor(ctx, as_json):
    """Check the store, key, fonts, speech, model, printer and hub; say what to fix."""
    from . import doctor as doc

    checks = doc.run(ctx.db_path)

    emit([c.as_dict() for c in checks], as_json,
         lambda rows: click.echo("\n".join(doc.format_rows(rows))))
    if any(c.ok is False for c in checks):
        raise SystemExit(1)
