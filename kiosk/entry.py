"""What ``lianxin kiosk`` calls: run the kiosk, or audit it, or render its screens.

    lianxin kiosk                      -> main(open_store=ctx.store, prompts=<PromptCache>)
    lianxin kiosk --audit [--json]     -> main(audit=True, as_json=...)
    lianxin kiosk --screenshots DIR    -> main(screenshots=DIR)

The audit and the screenshots run on a fresh demo branch in a temporary folder (with the
clock pinned to 2026-11-15, so the pictures do not change from day to day), never on the
terminal's own store, and always offscreen. Running the kiosk opens the terminal's store
and shows full screen when there is a display, offscreen otherwise (useful only to check
it starts). Returns the process exit status.

The running kiosk speaks through ``kiosk.speech.Speaker`` on the shared prompt cache
(``prompts``: a factory, ``cli.voice_cmds.prompt_cache`` beside the database) and the
sound card, or a NullPlayer without one; it listens (``kiosk.listen``) when a vosk model
and a microphone are both there. What it found is logged. A caller may pass ``speak``
instead (tests); without either, speech only goes to the log.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .headless import DEFAULT_SIZE, prepare

log = logging.getLogger("lianxin.kiosk")
DEMO_NOW = datetime.fromisoformat("2026-11-15T10:00:00+08:00")


def log_speaker(text: str) -> None:
    """Speech until the ``voice`` part is wired in: the text goes to the log."""
    log.info("say: %s", text)


def _demo_store(folder: Path):
    from core import demo
    from core.clock import FixedClock
    from core.store import Store

    store = Store.create(folder / "terminal.db", clock=FixedClock(DEMO_NOW))
    demo.load(store)
    return store


def voice_parts(prompts: Callable | None, speak: Callable[[str], None] | None):
    """(speak, listen) for a running kiosk: the real speaker and, when possible, a listener."""
    from .listen import open_listener

    if speak is None and prompts is not None:
        from .speech import open_speaker

        speak, why = open_speaker(prompts())
        log.info("speech out: %s", why)
    elif speak is None:
        speak = log_speaker
    listen, why = open_listener(speak)
    log.info("%s", why)
    return speak, listen


def main(*, open_store: Callable | None = None, audit: bool = False, as_json: bool = False,
         screenshots: str | Path | None = None, speak: Callable[[str], None] | None = None,
         prompts: Callable | None = None, echo: Callable[[str], None] = print) -> int:
    if not (audit or screenshots):
        if open_store is None:
            raise ValueError("open_store is needed to run the kiosk")
        prepare(fullscreen=True)
        from .app import KioskApp

        store = open_store()
        speak, listen = voice_parts(prompts, speak)
        KioskApp(store, speak=speak, listen=listen).run()
        return 0
    prepare(headless=True)
    from . import screenshots as shots
    from . import usability as audit_mod
    from .app import KioskApp

    status = 0
    with tempfile.TemporaryDirectory(prefix="lianxin-kiosk-") as tmp:
        store = _demo_store(Path(tmp))
        app = KioskApp(store, speak=lambda _text: None)
        try:
            app.attach(DEFAULT_SIZE)
            if audit:
                rows = audit_mod.run(app)
                echo(json.dumps(rows, ensure_ascii=False, indent=2) if as_json
                     else audit_mod.format_rows(rows))
                status = 0 if audit_mod.passed(rows) else 1
            if screenshots:
                made = shots.render_all(app, screenshots)
                if not as_json:
                    echo(f"{len(made)} screenshots in {screenshots}")
        finally:
            app.detach()
            store.close()
    return status
