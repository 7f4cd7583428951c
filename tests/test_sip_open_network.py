"""The SIP line on an open network, over real loopback sockets: forged INVITEs that never
ACK (``sipspoof``: each "victim" its own 127.0.0.x address, with a socket on the port its
forged SDP names for RTP).

Pins:
* no RTP before the ACK: a forged INVITE makes the line send no RTP at all to the port it
  names, and ``on_call`` (the dialog) never starts; a real caller gets RTP only once it ACKs,
  and a retransmitted INVITE is answered with the same 200 (same tag), not a second call;
* RFC 3261 timers with T1 = 50 ms, T2 = 400 ms: the 200 is resent at T1, 2T1, 4T1, then
  every T2, and after 64*T1 the call is given up: its slot is free at once and a BYE
  follows, itself resent on the same schedule (§13.3.1.4, §17.1.2);
* per source address: pending calls capped (503 + Retry-After), new INVITEs a second
  capped (503 + Retry-After, the bucket refills), concurrent calls capped (486), logged in
  English; another address is served meanwhile;
* forged INVITEs from many addresses cannot hold the line: the oldest pending call gives
  its place to the next INVITE, so a real caller is answered at once after them, and a
  line full of confirmed calls answers 486.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from sipspoof import Victim, counter
from test_sip_endpoint import Handler, Peer, offer, peer, req

from voice.sip import Endpoint, Limits, Timers
from voice.sip.message import param, parse

FAST = Timers(t1=0.05, t2=0.4)


def run(coro, timeout=30):
    asyncio.run(asyncio.wait_for(coro, timeout))


def finals(victim: Victim) -> dict[str, tuple[int, str | None]]:
    """Call-ID -> (final status, Retry-After) of what the line sent the victim."""
    out = {}
    for _, m in victim.sip.messages():
        if not m.is_request and m.status >= 200 and m.call_id not in out:
            out[m.call_id] = (m.status, m.get("Retry-After"))
    return out


async def real_call(ep: Endpoint, sip: Peer, media: Peer, call_id: str) -> str:
    """INVITE from a real caller that ACKs; the To tag of the 200."""
    sip.send(req("INVITE", ep.port, call_id=call_id, body=offer(media.port), via_port=sip.port),
             ep.port)
    ok = await sip.next(want=lambda m: m.call_id == call_id and m.status >= 200)
    assert ok.status == 200, ok.status
    tag = param(ok.get("To"), "tag")
    sip.send(req("ACK", ep.port, call_id=call_id, to_tag=tag, via_port=sip.port), ep.port)
    return tag


def test_forged_invite_gets_no_rtp_and_times_out_on_rfc_timers():
    async def main():
        loop = asyncio.get_running_loop()
        h = Handler()
        ep = Endpoint("127.0.0.1", 0, on_call=h, timers=FAST)
        await ep.start()
        victim = await Victim.at("127.0.0.2")
        victim.spoof(ep.port, call_id="forged")
        for _ in range(400):                              # until the first BYE
            if any(m.method == "BYE" for _, m in victim.sip.messages()):
                break
            await asyncio.sleep(0.01)
        assert not ep.calls and ep.stats["no_ack"] == 1   # the slot is free at once...
        await asyncio.sleep(FAST.timeout + 0.3)           # ...while the BYE is resent
        msgs = victim.sip.messages()
        oks = [t for t, m in msgs if m.status == 200]
        byes = [t for t, m in msgs if m.method == "BYE"]

        # the 200 resent at T1, 2T1, 4T1, then every T2, for 64*T1 = 3.2 s: sent at
        # 0, 0.05, 0.15, 0.35, 0.75, 1.15 ... 3.15 s; then the BYE, on the same schedule
        want = [0.0, *itertools.accumulate(list(FAST.intervals())[:-1])]
        assert [round(w, 2) for w in want[:6]] == [0, 0.05, 0.15, 0.35, 0.75, 1.15]
        assert len(oks) == len(want) == 11 and len(byes) == 11
        for sent in (oks, byes):
            late = [round(t - sent[0] - w, 3) for t, w in zip(sent, want, strict=True)]
            assert all(-0.01 < d < 0.1 for d in late), late
        assert abs(byes[0] - oks[0] - FAST.timeout) < 0.1, byes[0] - oks[0]
        # the whole cost of one forged INVITE to the address it names: 100, 11 x 200, 11 x BYE
        assert len(msgs) == 23 and victim.sip.bytes < 30 * victim.sent
        print(f"\none forged INVITE ({victim.sent} bytes): {victim.sip.bytes} bytes of SIP "
              f"to its source over 2 x 64*T1")
        assert {m.call_id for _, m in msgs} == {"forged"}
        # not one RTP packet went to the port the forged SDP named; no dialog started
        assert victim.rtp.got == [] and h.calls == []

        # the same line, a real caller: nothing before its ACK, RTP after it
        sip, media = await peer(), await peer()
        invite = req("INVITE", ep.port, call_id="real", branch="z9hG4bKreal",
                     body=offer(media.port), via_port=sip.port)
        sip.send(invite, ep.port)
        ok = await sip.next(want=lambda m: m.status == 200)
        await asyncio.sleep(0.3)
        assert media.q.empty() and h.calls == [] and ep.calls["real"].state == "answered"
        sip.send(invite, ep.port)                         # retransmitted: the same 200 again
        again = await sip.next(want=lambda m: m.status == 200)
        assert param(again.get("To"), "tag") == param(ok.get("To"), "tag") and len(ep.calls) == 1
        acked = loop.time()
        sip.send(req("ACK", ep.port, call_id="real", to_tag=param(ok.get("To"), "tag"),
                     via_port=sip.port), ep.port)
        await asyncio.wait_for(media.q.get(), 1)
        assert loop.time() - acked < 0.5
        assert [c.call_id for c in h.calls] == ["real"] and h.calls[0].confirmed_at >= acked
        victim.close()
        await ep.stop()
    run(main())


def test_per_source_caps_and_rate(caplog):
    caplog.set_level(logging.INFO, logger="voice.sip")

    async def main():
        sip, media = await peer(), await peer()
        # pending calls from one address: 3, the rest 503 + Retry-After
        ep = Endpoint("127.0.0.1", 0, timers=FAST,
                      limits=Limits(per_source_pending=3, per_source_burst=100))
        await ep.start()
        v = await Victim.at("127.0.0.3")
        v.spoof(ep.port, 10)
        await asyncio.sleep(0.3)
        got = sorted(finals(v).values(), key=str)
        assert got == [(200, None)] * 3 + [(503, "1")] * 7, got
        await real_call(ep, sip, media, "other-address")  # 127.0.0.1 is served meanwhile
        await asyncio.sleep(0.05)
        assert ep.calls["other-address"].state == "active"
        assert ep.stats["rejected"] == 7
        v.close()
        await ep.stop()

        # new INVITEs a second from one address: bursts of 3, then 2 a second
        ep = Endpoint("127.0.0.1", 0, timers=FAST,
                      limits=Limits(per_source_rate=2, per_source_burst=3))
        await ep.start()
        v = await Victim.at("127.0.0.4")
        v.spoof(ep.port, 5)
        await asyncio.sleep(0.2)
        assert sorted(finals(v).values(), key=str) == [(200, None)] * 3 + [(503, "1")] * 2
        refused = [parse(d) for d in v.invites if finals(v)[parse(d).call_id][0] == 503]
        v.send(v.invites[-1], ep.port)                    # a refused INVITE retransmitted:
        await asyncio.sleep(0.1)                          # the same 503, no token taken
        again = [m for _, m in v.sip.messages() if m.call_id == refused[-1].call_id]
        assert [m.status for m in again] == [503, 503] and ep.stats["rejected"] == 2
        await asyncio.sleep(0.3)                          # 0.6 s: one token back
        v.spoof(ep.port, 2)
        await asyncio.sleep(0.2)
        assert sorted(finals(v).values(), key=str) == [(200, None)] * 4 + [(503, "1")] * 3
        v.close()
        await ep.stop()

        # concurrent calls from one address: 2, the third 486; another address still served
        ep = Endpoint("127.0.0.1", 0, timers=FAST, limits=Limits(per_source_calls=2))
        await ep.start()
        for n in (1, 2):
            await real_call(ep, sip, media, f"c{n}")
        sip.send(req("INVITE", ep.port, call_id="c3", body=offer(media.port), via_port=sip.port),
                 ep.port)
        assert (await sip.next(want=lambda m: m.call_id == "c3" and m.status >= 200)).status == 486
        other = await counter("127.0.0.5")
        other.transport.sendto(req("INVITE", ep.port, call_id="c4", body=offer(media.port)),
                               ("127.0.0.1", ep.port))
        await asyncio.sleep(0.2)
        assert [parse(d).status for _, d in other.got][:2] == [100, 200]      # (200 resent)
        await ep.stop()
    run(main())
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert ("SIP: INVITE from 127.0.0.3 refused with 503: 3 calls from this address not yet "
            "confirmed by an ACK") in refusals
    assert "SIP: INVITE from 127.0.0.4 refused with 503: more than 2 new calls a second" in refusals
    assert "SIP: INVITE from 127.0.0.1 refused with 486: 2 calls from this address already" \
        in refusals
    # one line per address and reason in a window, not one per INVITE
    assert len(refusals) == 3, refusals


def test_forged_invites_from_many_addresses_cannot_hold_the_line():
    async def main():
        h = Handler()
        ep = Endpoint("127.0.0.1", 0, on_call=h, limits=Limits(max_pending=4, max_calls=6))
        await ep.start()                                  # T1 = 500 ms, as in production
        victims = [await Victim.at(f"127.0.0.{10 + i}") for i in range(20)]
        for v in victims:
            v.spoof(ep.port)
        await asyncio.sleep(0.3)
        assert len(ep.calls) == 4 and ep.stats["evicted"] == 16 and ep.stats["rejected"] == 0
        # each forged INVITE was answered (100, then 200 or 480) and sent no RTP anywhere
        assert all(finals(v) for v in victims) and not any(v.rtp.got for v in victims)
        sip, media = await peer(), await peer()
        loop = asyncio.get_running_loop()
        start = loop.time()
        await real_call(ep, sip, media, "real-1")
        assert loop.time() - start < 0.5
        await asyncio.wait_for(media.q.get(), 1)          # confirmed: RTP flows
        # a line full of confirmed calls: pending ones make room, then 486
        for n in range(2, 7):
            await real_call(ep, sip, media, f"real-{n}")
        await asyncio.sleep(0.1)
        assert len(h.calls) == 6 and len(ep.calls) == 6
        sip.send(req("INVITE", ep.port, call_id="one-too-many", body=offer(media.port),
                     via_port=sip.port), ep.port)
        assert (await sip.next(want=lambda m: m.call_id == "one-too-many"
                               and m.status >= 200)).status == 486
        for v in victims:
            v.close()
        await ep.stop()
    run(main())
