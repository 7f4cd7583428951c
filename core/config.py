"""Settings, declared once as data. Each is read from its environment variable when asked
for (never at import time); docs/operations.md lists them all (a test checks that)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str

    def get(self) -> str | None:
        value = os.environ.get(self.env)
        return value if value not in (None, "") else self.default


SETTINGS = {s.name: s for s in [
    Setting("db", "LIANXIN_DB", None,
            "Terminal database file. Default: terminal.db in the user data folder."),
    Setting("staff_pin", "LIANXIN_STAFF_PIN", None,
            "Staff PIN for `dues pay` when no terminal is there to ask (scripts only)."),
    Setting("vosk_model", "LIANXIN_VOSK_MODEL", None,
            "Folder of a vosk speech model; without one, speech input is off."),
    Setting("voice", "LIANXIN_VOICE", "cmn-latn-pinyin",
            "espeak-ng voice for speech (cmn-latn-pinyin reads Hanzi; plain cmn spells pinyin)."),
    Setting("voice_wpm", "LIANXIN_VOICE_WPM", "130",
            "Speaking rate in words per minute; slow and clear by default for older listeners."),
    Setting("voice_dir", "LIANXIN_VOICE_DIR", None,
            "Folder for prompt audio (cache/ and staff recordings in overrides/). "
            "Default: voice/ beside the terminal database."),
    Setting("printer", "LIANXIN_PRINTER", None,
            "Receipt printer: usb:VID:PID, serial:/dev/ttyUSB0, net:HOST[:PORT] or file:/path."),
    Setting("sip_password", "LIANXIN_SIP_PASSWORD", None,
            "Password for `lianxin phone --register` at the trunk/PBX (digest auth)."),
    Setting("hub_url", "LIANXIN_HUB_URL", None,
            "The township/county hub this terminal syncs with (set by enrollment)."),
    Setting("sync_batch", "LIANXIN_SYNC_BATCH", None,
            "Most audit entries (with their events) in one push request. Default: 4000 "
            "(500 to a hub older than protocol 3). After a cut, at most one batch is re-sent."),
    Setting("hub_ca", "LIANXIN_HUB_CA", None,
            "CA bundle (PEM) to trust for the hub's TLS certificate, e.g. the hub's own "
            "self-signed certificate. Default: the system's trusted CAs."),
    Setting("hub_keep_alive", "LIANXIN_HUB_KEEP_ALIVE", "5",
            "Hub server: seconds an idle connection stays open after an answer."),
    Setting("hub_header_timeout", "LIANXIN_HUB_HEADER_TIMEOUT", "10",
            "Hub server: seconds a connection may take to send a request's headers."),
    Setting("hub_max_connections", "LIANXIN_HUB_MAX_CONNECTIONS", "200",
            "Hub server: open connections at most; a request beyond them gets 503."),
    Setting("hub_max_header_bytes", "LIANXIN_HUB_MAX_HEADER_BYTES", "16384",
            "Hub server: the largest request line and headers, in bytes."),
    Setting("hub_enroll_per_minute", "LIANXIN_HUB_ENROLL_PER_MINUTE", "10",
            "Hub server: enrollment attempts per source address and minute (0: no limit)."),
    Setting("hub_pull_line", "LIANXIN_HUB_PULL_LINE", "250",
            "Hub server: most events in one line of a pull answer (protocol 4); a terminal "
            "applies each line as it arrives."),
    Setting("hub_console_idle_minutes", "LIANXIN_HUB_CONSOLE_IDLE_MINUTES", "30",
            "Hub console: minutes without a request after which an operator is signed out."),
    Setting("hub_voice_keep_days", "LIANXIN_HUB_VOICE_KEEP_DAYS", "90",
            "Hub: days the audio of a voice message is kept after an operator marked it "
            "heard (the message's row stays; 0: keep it)."),
]}


def get(name: str) -> str | None:
    return SETTINGS[name].get()
