"""``lianxin kiosk``: the touchscreen, its accessibility audit and its screenshots."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .shared import pass_ctx


@click.command("kiosk")
@click.option("--audit", is_flag=True,
              help="Check every screen against the elder-usability rules; exit 1 if one is broken.")
@click.option("--json", "as_json", is_flag=True, help="With --audit: print the report as JSON.")
@click.option("--screenshots", type=click.Path(file_okay=False, path_type=Path),
              help="Render every screen (demo branch) to PNG files in this folder.")
@pass_ctx
def kiosk_cmd(ctx, audit, as_json, screenshots):
    """Run the touchscreen kiosk on this terminal's store (offscreen if there is no display)."""
    # Imported here: kiosk.entry prepares Kivy's environment before Kivy loads.
    from kiosk.entry import main

    from .voice_cmds import prompt_cache

    sys.exit(main(open_store=ctx.store, prompts=lambda: prompt_cache(ctx.db_path),
                  audit=audit, as_json=as_json, screenshots=screenshots, echo=click.echo))
