"""``lianxin phone``: the SIP phone line members call to hear dues and lessons."""

from __future__ import annotations

import click

from core import config

from .shared import pass_ctx
from .voice_cmds import prompt_cache


@click.command("phone")
@click.option("--listen", default="127.0.0.1:5060", show_default=True,
              help="HOST:PORT for SIP over UDP and TCP (this machine only unless told: "
                   "0.0.0.0:5060 answers the network).")
@click.option("--advertise", help="Address given in Contact/SDP when listening on 0.0.0.0.")
@click.option("--register", "registrar", help="Trunk/PBX registrar, sip:HOST[:PORT], to sign in to.")
@click.option("--user", help="SIP user name at the registrar (password: LIANXIN_SIP_PASSWORD).")
@pass_ctx
def phone_cmd(ctx, listen, advertise, registrar, user):
    """Answer calls: identify the caller, read dues status, lessons and notices, take messages."""
    import asyncio

    from voice.asr import VoskEngine
    from voice.dialog import Dialog
    from voice.phone import Line, serve

    store = ctx.store()
    prompts = prompt_cache(ctx.db_path)
    speech = VoskEngine.from_config()
    line = Line(lambda call: Dialog(store, rate_hz=8000, call_id=call.call_id), prompts, speech)
    register = None
    if registrar:
        if not user:
            raise click.UsageError("--register needs --user")
        register = {"registrar": registrar, "user": user,
                    "password": config.get("sip_password") or ""}
    click.echo(f"电话线路在 {listen} 等待来电" + ("（语音识别已开启）" if speech else "（只用按键）"))
    try:
        asyncio.run(serve(listen, line, advertise=advertise, register=register))
    except KeyboardInterrupt:
        pass
