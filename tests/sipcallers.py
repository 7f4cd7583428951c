"""Real SIP callers for the phone-line tests: baresip (driven over ctrl_tcp) and sipp.

Not a test module: helpers imported by ``test_phone_baresip.py``, ``test_phone_sipp.py``
and ``bench/bench_phone.py``. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import socket
import subprocess
import time
from array import array
from pathlib import Path

BARESIP = shutil.which("baresip")
SIPP = shutil.which("sipp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Baresip:
    """A baresip process calling from 127.0.0.1, its microphone a WAV file, what it hears
    dumped to ``<folder>/snd/dump-*-dec.wav`` by the sndfile module."""

    def __init__(self, folder: Path, mic_wav: Path):
        self.folder = Path(folder)
        self.snd = self.folder / "snd"
        self.snd.mkdir(parents=True, exist_ok=True)
        self.ctrl_port = free_port()
        (self.folder / "config").write_text(f"""
poll_method epoll
sip_listen 127.0.0.1:{free_port()}
net_interface 127.0.0.1
audio_player aubridge,nil
audio_source aufile,{mic_wav}
audio_alert aubridge,nil
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.snd}
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
""")
        (self.folder / "accounts").write_text(
            "<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA\n")
        self.events: list[dict] = []
        self.proc = None

    async def start(self) -> None:
        self.log = open(self.folder / "baresip.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = await asyncio.create_subprocess_exec(
            BARESIP, "-f", str(self.folder), stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT)
        # Up to 20 s: on a loaded machine (CI, two cores) baresip can take seconds to load
        # its modules; a baresip that gave up says why in its log.
        deadline = time.monotonic() + 20
        while True:
            try:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                                         self.ctrl_port)
                break
            except OSError:
                if self.proc.returncode is not None or time.monotonic() > deadline:
                    self.log.flush()
                    said = (self.folder / "baresip.log").read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"baresip's control socket never opened "
                                       f"(exit {self.proc.returncode}): {said}") from None
                await asyncio.sleep(0.05)
        self._pump = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        buf = b""
        while data := await self.reader.read(65536):
            buf += data
            while b":" in buf:
                length, _, rest = buf.partition(b":")
                n = int(length)
                if len(rest) < n + 1:
                    break
                self.events.append(json.loads(rest[:n]))
                buf = rest[n + 1:]

    def command(self, command: str, params: str = "") -> None:
        body = json.dumps({"command": command, "params": params}).encode()
        self.writer.write(str(len(body)).encode() + b":" + body + b",")

    async def wait_event(self, kind: str, timeout: float = 15.0) -> dict:
        for _ in range(int(timeout / 0.05)):
            for e in self.events:
                if e.get("type") == kind:
                    return e
            await asyncio.sleep(0.05)
        raise TimeoutError(f"baresip never reported {kind}; saw {[e.get('type') for e in self.events]}")

    async def keys(self, keys: str, gap: float = 0.35) -> None:
        for k in keys:
            self.command("sndcode", k)
            await asyncio.sleep(gap)

    def switch_mic(self, wav: Path) -> None:
        """From now on the microphone is ``wav``, from its start (menu's ``ausrc``). Pad it
        with silence: baresip hangs up when the file ends."""
        self.command("ausrc", f"aufile,{wav}")

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.command("quit")
            try:
                await asyncio.wait_for(self.proc.wait(), 3)
            except TimeoutError:
                self.proc.terminate()
                await self.proc.wait()
        self._pump.cancel()
        self.log.close()

    def heard(self) -> Path:
        return sorted(self.snd.glob("dump-*-dec.wav"))[-1]


def frame_rms(pcm: bytes, rate_hz: int, frame_ms: int = 20) -> list[float]:
    x = array("h")
    x.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    n = rate_hz * frame_ms // 1000
    return [math.sqrt(sum(v * v for v in x[i:i + n]) / n) for i in range(0, len(x) - n + 1, n)]
