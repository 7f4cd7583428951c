"""What the line tells the dialog about what the caller heard (``voice.phone._CallRun``):
one ``Played`` per play that began, start to end on the call's clock, a barge-in or a
late "played" report from the media never losing or inventing one. A fake call stands in
for ``voice.sip.Call`` (its queue semantics: play appends, stop_playing drops all)."""

from __future__ import annotations

import asyncio

from voice import dialog_types as dt
from voice.phone import Line, _CallRun


class FakeCall:
    call_id, caller, answered_at = "fake", "x", None

    def __init__(self):
        self.events: asyncio.Queue = asyncio.Queue()
        self.queue: list = []

    def play(self, pcm, token):
        self.queue.append(token)

    def stop_playing(self):
        dropped, self.queue = self.queue, []
        return dropped

    @property
    def playing(self):
        return bool(self.queue)

    def finish(self, token):              # the media sent the last frame of ``token``
        assert self.queue[0] == token
        self.queue.pop(0)


class Told:
    grammar: list[str] = []

    def __init__(self):
        self.events = []

    def handle(self, e):
        self.events.append(e)
        return []


def test_played_reports_follow_the_queue():
    async def main():
        call, dialog = FakeCall(), Told()
        run = _CallRun(Line(lambda c: dialog, prompts=None), call)
        run.dialog = dialog
        run.t0 = run.loop.time()
        t0 = run.now()
        await run.apply([dt.PlayTone(1, 800, 40), dt.PlayTone(2, 800, 40)])
        await asyncio.sleep(0.05)
        call.finish(1)
        await run.event("played", 1)      # 1 heard whole; 2 starts now
        [p1] = [e for e in dialog.events if isinstance(e, dt.Played)]
        assert (p1.seq, p1.cut) == (1, False) and t0 <= p1.start
        assert 0.04 < p1.end - p1.start <= run.now() - t0
        assert not any(isinstance(e, dt.PlayDone) for e in dialog.events)  # 2 still plays
        await asyncio.sleep(0.03)
        await run.apply([dt.StopPlaying(), dt.PlayTone(3, 800, 40)])   # barge-in
        p2 = [e for e in dialog.events if isinstance(e, dt.Played)][-1]
        assert (p2.seq, p2.cut) == (2, True) and p2.start == p1.end and p2.end > p2.start
        await run.event("played", 2)      # the media's late report for the cut play
        assert [e.seq for e in dialog.events if isinstance(e, dt.Played)] == [1, 2]
        call.finish(3)
        await run.event("played", 3)      # ...did not lose track of 3
        p3 = [e for e in dialog.events if isinstance(e, dt.Played)][-1]
        assert (p3.seq, p3.cut) == (3, False)
        assert isinstance(dialog.events[-1], dt.PlayDone) and dialog.events[-1].seq == 3
        assert dialog.events.index(p3) == len(dialog.events) - 2      # Played before PlayDone
        await run.apply([dt.PlayTone(4, 800, 40)])
        run.cut()                         # the caller hangs up
        await run.apply([])
        p4 = [e for e in dialog.events if isinstance(e, dt.Played)][-1]
        assert (p4.seq, p4.cut) == (4, True)
    asyncio.run(main())
