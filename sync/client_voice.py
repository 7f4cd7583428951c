"""The terminal's side of voice messages at the hub: after a push, the audio of each message
the hub does not hold yet (docs/sync-protocol.md, Voice messages).

    upload_voice(store, client)   ask the hub which of this terminal's announced messages it
                                  lacks (``GET /v1/voice/missing``, paged), then send each
                                  one's WAV whole (``PUT /v1/voice/{message_id}``)

Each message goes whole or not at all: a cut mid-upload leaves nothing at the hub, which
lists the message as missing again, and the next sync sends it again. What the hub says it
lacks is the truth; the terminal only remembers how many messages it held when the hub last
lacked nothing it could send (``sync.voice_checked`` in meta), so that a sync with no new
message costs no round trip (most terminals have no phone line). A message whose audio
this terminal no longer holds (its staff's retention rule removed it first) is left out. Consent is core.calls': a member who withdrew
``voice_messages`` left no message, so there is nothing to send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import calls
from core.errors import InvalidInput, NotFound

from . import protocol
from .client_errors import SyncError

if TYPE_CHECKING:
    from .client import HubClient

CHECKED = "sync.voice_checked"   # messages held when the hub last lacked nothing we could send


def upload_voice(store, client: HubClient) -> dict:
    """Send the audio the hub lacks; ``{"messages": sent, "bytes": sent, "left": not held
    here}``. A hub that does not take voice audio (older than this endpoint) is skipped."""
    held = calls.count_messages(store)
    if str(held) == (store.meta(CHECKED) or "0"):
        return {"messages": 0, "bytes": 0, "left": 0}
    sent = size = left = 0
    after = 0
    while True:
        try:
            page = client.request("GET", "/v1/voice/missing", params={"after": after}).json()
        except SyncError as e:
            if e.status == 404 and e.code == "not_found":   # a hub without this endpoint
                return {"messages": 0, "bytes": 0, "left": 0}
            raise
        for m in page["missing"]:
            try:
                wav = calls.message_wav(store, m["message_id"])
            except (NotFound, InvalidInput):
                left += 1      # removed here by retention first (or damaged): not sent
                continue
            if len(wav) > protocol.MAX_VOICE_BYTES:
                left += 1
                continue
            client.request("PUT", f"/v1/voice/{m['message_id']}", data=wav,
                           headers={"Content-Type": "audio/wav"})
            sent, size = sent + 1, size + len(wav)
        if not page["more"]:
            break
        after = page["next"]
    with store.transaction():
        store.set_meta(CHECKED, str(held))
    return {"messages": sent, "bytes": size, "left": left}
