"""``lianxin voice …``: prompt audio — prerender, staff recordings, a test sentence."""

from __future__ import annotations

from pathlib import Path

import click

from core import config

from .shared import emit, pass_ctx


def voice_dir(db_path: Path) -> Path:
    configured = config.get("voice_dir")
    return Path(configured) if configured else db_path.parent / "voice"


def engine():
    from voice.tts import Pyttsx3Engine

    return Pyttsx3Engine(voice=config.get("voice"), wpm=int(config.get("voice_wpm")))


def prompt_cache(db_path: Path):
    """The prompt cache the kiosk, the phone line and these commands share."""
    from voice.phone_prompts import PHONE_CATALOGUE
    from voice.prompts import PromptCache

    folder = voice_dir(db_path)
    return PromptCache(folder / "cache", engine(), overrides_dir=folder / "overrides",
                       catalogue=PHONE_CATALOGUE)


@click.group("voice")
def voice_group():
    """Speech prompts: prerender, staff recordings, test."""


@voice_group.command("prerender")
@click.option("--rate", "rates", type=int, multiple=True, help="Sample rates (default 8000 and 16000).")
@pass_ctx
def voice_prerender(ctx, rates):
    """Render every fixed prompt once, so each starts at once when needed."""
    report = prompt_cache(ctx.db_path).prerender(rates or (8000, 16000))
    click.echo(f"新合成 {report.rendered} 条，已有 {report.reused} 条，"
               f"使用工作人员录音 {report.overridden} 条（{', '.join(map(str, report.rates))} Hz）")


@voice_group.command("import")
@click.argument("prompt_id")
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def voice_import(ctx, prompt_id, wav):
    """Use a staff recording (a WAV file) instead of the synthetic PROMPT_ID."""
    path = prompt_cache(ctx.db_path).import_override(prompt_id, wav)
    click.echo(f"已使用录音：{prompt_id} -> {path}")


@voice_group.command("record")
@click.argument("prompt_id")
@click.option("--seconds", type=click.IntRange(1, 60), default=6, show_default=True,
              help="How long to record.")
@pass_ctx
def voice_record(ctx, prompt_id, seconds):
    """Record PROMPT_ID from the microphone (e.g. in the local dialect) and use it."""
    from voice.record import record_prompt

    def begin(text):
        click.echo(f"请对着麦克风说：{text}")
        click.echo(f"现在开始录音，{seconds}秒……")

    path = record_prompt(prompt_cache(ctx.db_path), prompt_id, seconds, on_start=begin)
    click.echo(f"已使用录音：{prompt_id} -> {path}")


@voice_group.command("remove")
@click.argument("prompt_id")
@pass_ctx
def voice_remove(ctx, prompt_id):
    """Go back to the synthetic voice for PROMPT_ID."""
    removed = prompt_cache(ctx.db_path).remove_override(prompt_id)
    click.echo("已删除录音。" if removed else "这条提示没有录音。")


@voice_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def voice_list(ctx, as_json):
    """Every prompt, and whether a staff recording replaces it."""
    from dataclasses import asdict

    rows = [asdict(p) for p in prompt_cache(ctx.db_path).status()]
    emit(rows, as_json, lambda rows: [click.echo(
        f"{r['prompt_id']:<24} {r['override'] or '-':<8} {r['text']}") for r in rows])


@voice_group.command("say")
@click.argument("text")
@click.option("--rate", type=int, default=16000, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="WAV file to write.")
def voice_say(text, rate, out):
    """Synthesize TEXT to a WAV file (to check the voice)."""
    from voice.pcm import write_wav_atomic

    pcm = engine().synthesize(text, rate)
    write_wav_atomic(out, pcm, rate)
    click.echo(f"{out}: {len(pcm) / 2 / rate:.1f} 秒")
