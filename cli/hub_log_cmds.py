"""``lianxin hub events|check|payment-checks|resolve-payment``: what the operator sees and
repairs of the branch log (sync.hub.log_admin) and of the cash terminals took
(sync.hub.conflicts' payment checks). Registered on ``lianxin hub`` by cli.hub_cmds."""

from __future__ import annotations

import json

import click

from .shared import cli_actor, emit


def _trail(storage, action: str, subject: str, detail: dict) -> None:
    from .hub_cmds import trail

    trail(storage, action, subject, detail)


def _hub(ctx):
    from .hub_cmds import _hub as open_hub_db

    return open_hub_db(ctx)


def register(hub_group: click.Group) -> None:
    for command in (hub_events, hub_check, hub_payment_checks, hub_resolve_payment):
        hub_group.add_command(command)


@click.group("events")
def hub_events():
    """The branch log: list events, quarantine a bad one, release it."""


def _show_events(rows: list[dict]) -> None:
    if not rows:
        click.echo("没有这样的记录")
    for r in rows:
        marks = []
        if r["quarantined"]:
            marks.append(f"QUARANTINED by {r['quarantined_by']}: {r['quarantine_reason']}")
        for s in r["skipped_by"]:
            marks.append(f"skipped by {s['terminal_id'][:8]}: {s['reason']}")
        click.echo(f"{r['cursor']:>7} {r['event_id']}  {r['type']:<17} {r['origin'][:8]:<8} "
                   f"{r['at'][:16]}" + "".join(f"\n          {m}" for m in marks))


@hub_events.command("list")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--skipped", is_flag=True, help="Only events a terminal could not apply.")
@click.option("--quarantined", is_flag=True, help="Only quarantined events.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_events_list(ctx, branch, skipped, quarantined, limit, as_json):
    """The branch's newest events, with skip reports and quarantine."""
    from sync.hub import admin

    emit(admin.list_events(_hub(ctx), branch, skipped=skipped, quarantined=quarantined,
                           limit=limit), as_json, _show_events)


@hub_events.command("quarantine")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why (kept with the mark).")
@click.pass_context
def hub_events_quarantine(ctx, event_id, reason):
    """Stop passing EVENT_ID to terminals; it stays in the log, marked."""
    from sync.hub import admin

    storage = _hub(ctx)
    row = admin.quarantine_event(storage, event_id, by=cli_actor(), reason=reason)
    _trail(storage, "event.quarantined", f"event:{event_id}",
           {"branch": row["branch"], "reason": reason.strip()})
    click.echo("已隔离：终端以后不会再收到这条记录。")


@hub_events.command("release")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why (kept on the operators' trail).")
@click.pass_context
def hub_events_release(ctx, event_id, reason):
    """Pass a quarantined EVENT_ID on again."""
    from sync.hub import admin

    storage = _hub(ctx)
    row = admin.release_event(storage, event_id, by=cli_actor(), reason=reason)
    _trail(storage, "event.released", f"event:{event_id}",
           {"branch": row["branch"], "reason": reason.strip()})
    click.echo("已解除隔离。")


@click.command("check")
@click.option("--branch", help="Only this branch.")
@click.option("--quarantine", "do_quarantine", is_flag=True,
              help="Quarantine every event found (those not quarantined yet).")
@click.option("--chains", is_flag=True,
              help="Also recompute every terminal's stored audit chain (reads every entry).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_check(ctx, branch, do_quarantine, chains, as_json):
    """Find stored terminal events that break today's push rules; exit 1 if any.

    With --chains, also terminals whose stored audit chain no longer verifies (JSON:
    {"events": [...], "chains": [...]})."""
    from sync.hub import admin

    storage = _hub(ctx)
    problems = admin.check_log(storage, branch)
    damaged = admin.check_chains(storage, branch) if chains else []
    if do_quarantine:
        for p in problems:
            if not p["quarantined"]:
                admin.quarantine_event(storage, p["event_id"], by=cli_actor(),
                                       reason=f"hub check: {p['code']}")
                _trail(storage, "event.quarantined", f"event:{p['event_id']}",
                       {"branch": p["branch"], "reason": f"hub check: {p['code']}"})
                p["quarantined"] = True
    if as_json:
        emit({"events": problems, "chains": damaged} if chains else problems, True)
    else:
        for r in problems:
            click.echo(f"{r['branch']:<10} {r['event_id']}  {r['type']:<17} from "
                       f"{r['origin'][:8]} seq {r['seq']}: {r['code']}: {r['detail']}"
                       + ("  (quarantined)" if r["quarantined"] else ""))
        for r in damaged:
            click.echo(f"{r['branch']:<10} terminal {r['terminal_id']}: 留痕记录被改动过 "
                       f"({r['code']}: {r['detail']})")
        if not problems and not damaged:
            click.echo("检查完毕：没有发现违反规则的记录。")
    if problems or damaged:
        ctx.exit(1)


_CHECK_ZH = {"amount_mismatch": "金额和党员的月交纳额不符",
             "unknown_collector": "收款人不是服务中心登记的工作人员",
             "large_voluntary": "一次自愿多交1000元以上（大额党费）"}


@click.command("payment-checks")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--all", "everything", is_flag=True, help="Include resolved ones.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_payment_checks(ctx, branch, everything, as_json):
    """Payments that do not match the hub's record (amount, collector, large dues)."""
    from sync.hub import admin

    rows = admin.payment_checks(_hub(ctx), branch, status=None if everything else "open")
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['entry_id']}  {r['member_no']:<8} {_CHECK_ZH.get(r['reason'], r['reason'])}  "
        f"{json.dumps(r['detail'], ensure_ascii=False)}  {r['status']}") for r in rows]
        or click.echo("没有需要核对的交费"))


@click.command("resolve-payment")
@click.argument("entry_id")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--note", required=True, help="What was done (kept with the check).")
@click.pass_context
def hub_resolve_payment(ctx, entry_id, branch, note):
    """Close a payment's checks with a note saying what was done."""
    from sync.hub import admin

    storage = _hub(ctx)
    admin.resolve_payment_check(storage, branch, entry_id, note=note, by=cli_actor())
    _trail(storage, "payment_check.resolved", f"entry:{entry_id}",
           {"branch": branch, "note": note.strip()})
    click.echo("已处理")
