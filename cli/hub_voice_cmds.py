"""``lianxin hub voice list|export|heard|followed-up|housekeep``: the voice messages callers
left at the branches' phone lines, as the hub holds them (sync.hub.voice; the console's
语音留言 page calls the same functions). Registered on ``lianxin hub`` by cli.hub_cmds.
Every mark and export goes into the operators' action trail as ``cli:<os user>``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .shared import cli_actor, emit


def _hub(ctx):
    from .hub_cmds import _hub as open_hub_db

    return open_hub_db(ctx)


def _actor():
    from sync.hub.operators import Actor

    return Actor(cli_actor(), "local")


def register(hub_group: click.Group) -> None:
    hub_group.add_command(hub_voice)


@click.group("voice")
def hub_voice():
    """Voice messages left on the branches' phone lines: list, export, mark."""


def _show(rows: list[dict]) -> None:
    if not rows:
        click.echo("没有语音留言")
    for r in rows:
        state = ("已跟进" if r["followed_up_at"] else "已听" if r["heard_at"] else "没听")
        audio = "有录音" if r["audio"] else ("录音已删除" if r["audio_removed_at"]
                                           else "录音未传上来")
        click.echo(f"{r['message_id']}  {r['recorded_at'][:16]}  {r['who']:<16} "
                   f"{r['seconds']:>5} 秒  {state}  {audio}")


@hub_voice.command("list")
@click.option("--branch", required=True, help="Branch code.")
@click.option("--all", "everything", is_flag=True, help="Include messages followed up.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def hub_voice_list(ctx, branch, everything, as_json):
    """A branch's voice messages, newest first (not followed up yet, unless --all)."""
    from sync.hub import voice

    emit(voice.messages(_hub(ctx), branch, open_only=not everything), as_json, _show)


@hub_voice.command("export")
@click.argument("message_id")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def hub_voice_export(ctx, message_id, dest):
    """Write a message's recording to DEST (a WAV file, 0600; never overwrites)."""
    from sync.hub import voice

    storage = _hub(ctx)
    wav = voice.audio(storage, message_id)
    row = voice.get(storage, message_id)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(wav)
    voice.played(storage, _actor(), message_id, row["branch"])
    click.echo(f"已导出到 {dest}")


@hub_voice.command("heard")
@click.argument("message_id")
@click.pass_context
def hub_voice_heard(ctx, message_id):
    """已听: mark a message heard."""
    from sync.hub import voice

    voice.mark_heard(_hub(ctx), _actor(), message_id)
    click.echo("已记下：听过了")


@hub_voice.command("followed-up")
@click.argument("message_id")
@click.option("--note", required=True, help="What was done about it.")
@click.pass_context
def hub_voice_followed_up(ctx, message_id, note):
    """已跟进: say what was done about a message (heard too)."""
    from sync.hub import voice

    voice.follow_up(_hub(ctx), _actor(), message_id, note)
    click.echo("已记下跟进情况")


@hub_voice.command("housekeep")
@click.pass_context
def hub_voice_housekeep(ctx):
    """Apply the retention rule now: remove the audio of messages heard more than
    LIANXIN_HUB_VOICE_KEEP_DAYS days ago (the rows stay). The hub also applies it whenever
    the messages are listed."""
    from sync.hub import voice

    removed = voice.housekeep(_hub(ctx))
    click.echo(f"删除了 {removed} 条过期录音")
