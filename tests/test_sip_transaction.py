"""RFC 3261's timers and the response cache (``voice.sip.transaction``), and the admission
rules (``voice.sip.admission``) on their own, with a hand-moved clock.

Pins: the retransmit schedule is T1, 2T1, 4T1 ... capped at T2 and sums to exactly 64*T1
(500 ms / 4 s / 32 s by default: 11 sends of a 2xx); a cached final response expires after
64*T1, a provisional one does not, and the cache never holds more than its bound (the
oldest go first); the token bucket refills at its rate; a refusal says why and when to
come back; eviction picks the oldest pending call only when a cap is reached; refusals
are logged once per address, reason and 10 s window, then as a count.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from voice.sip.admission import Admission, Limits
from voice.sip.transaction import ResponseCache, Timers


def test_retransmit_schedule_doubles_to_t2_and_sums_to_64_t1():
    gaps = list(Timers().intervals())
    assert gaps[:5] == [0.5, 1.0, 2.0, 4.0, 4.0] and max(gaps) == 4.0
    assert abs(sum(gaps) - 32.0) < 1e-9 and Timers().timeout == 32.0
    assert len(gaps) == 11                                 # the first send + 10 resends
    fast = list(Timers(t1=0.05, t2=0.4).intervals())
    assert abs(sum(fast) - 3.2) < 1e-9 and abs(fast[-1] - 0.05) < 1e-9   # cut to end at 64*T1


def test_response_cache_expires_finals_and_is_bounded():
    now = [0.0]
    cache = ResponseCache(Timers(t1=0.5), max_entries=3, clock=lambda: now[0])
    cache.put(("b1", "INVITE"), b"100", "src", final=False)
    cache.put(("b2", "INVITE"), b"503", "src", final=True)
    assert cache.get(("b1", "INVITE")) == (b"100", "src")
    now[0] = 31.9
    assert cache.get(("b2", "INVITE")) == (b"503", "src")
    now[0] = 32.1
    assert cache.get(("b2", "INVITE")) is None              # Timer H/J: 64*T1
    assert cache.get(("b1", "INVITE")) == (b"100", "src")  # provisional: until the final
    cache.put(("b1", "INVITE"), b"200", "src", final=True)  # replaces it
    assert cache.get(("b1", "INVITE")) == (b"200", "src")
    for n in range(10):
        cache.put((f"f{n}", "INVITE"), b"486", "src", final=True)
    assert len(cache) == 3 and cache.get(("f9", "INVITE")) and not cache.get(("f6", "INVITE"))


def call(ip, since, confirmed=None):
    return SimpleNamespace(source=SimpleNamespace(addr=(ip, 5060)), pending_since=since,
                           confirmed_at=confirmed)


def test_admission_rate_caps_and_eviction():
    adm = Admission(Limits(per_source_rate=2, per_source_burst=2, max_pending=2, max_calls=3))
    assert adm.decide("10.0.0.1", [], 0.0) == (None, None)
    assert adm.decide("10.0.0.1", [], 0.0) == (None, None)
    refusal, _ = adm.decide("10.0.0.1", [], 0.1)
    assert (refusal.status, refusal.kind, refusal.headers()) == (503, "rate",
                                                                 [("Retry-After", "1")])
    assert adm.decide("10.0.0.1", [], 0.6) == (None, None)  # 2 a second: one token back
    old, new = call("10.0.0.8", 1.0), call("10.0.0.9", 2.0)
    refusal, evict = adm.decide("10.0.0.2", [new, old], 3.0)
    assert refusal is None and evict is old                   # pending full: the oldest goes
    full = [call("10.0.0.7", 0.0, confirmed=1.0) for _ in range(3)]
    refusal, evict = adm.decide("10.0.0.3", full, 3.0)
    assert (refusal.status, refusal.kind, evict) == (486, "full", None)
    patient = Admission(Limits(max_pending=2, evict_after_s=5.0))
    refusal, evict = patient.decide("10.0.0.4", [new, old], 3.0)
    assert (refusal.status, refusal.kind, evict) == (503, "pending", None)


def test_refusals_are_logged_once_per_window(caplog):
    caplog.set_level(logging.WARNING, logger="voice.sip.admission")
    adm = Admission(Limits(per_source_rate=1, per_source_burst=1))
    for t in (0.0, 0.1, 0.2, 0.3, 11.0, 11.1):
        refusal, _ = adm.decide("192.0.2.7", [], t)
        if refusal is not None:
            adm.refused("192.0.2.7", refusal, t)
    assert [r.getMessage() for r in caplog.records] == [
        "SIP: INVITE from 192.0.2.7 refused with 503: more than 1 new calls a second",
        "SIP: refused 2 more INVITEs from 192.0.2.7 in the last 11 s (more than 1 new calls "
        "a second)",
        "SIP: INVITE from 192.0.2.7 refused with 503: more than 1 new calls a second"]
