"""``lianxin hub …``: the township/county hub — branches, terminals, roster, staff, policy,
content and the sync server. Its other commands live in their own modules, registered on
this group at the end: hub_log_cmds (the branch log), hub_operator_cmds, hub_voice_cmds,
hub_export_cmds, hub_review_cmds (the report, proposals, double payments).

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

from .hub_review_cmds import register as _register_review_cmds  # noqa: E402

_register_review_cmds(hub_group)
