"""What the terminal's sync raises: one error class for the client's modules (sync.client,
sync.client_pull, sync.client_voice), in a module of its own so that each can import it."""

from __future__ import annotations

from core.errors import LianxinError


class SyncError(LianxinError):
    """The hub refused a request (``code`` from the protocol) or could not be reached."""

    zh_default = "和服务中心同步没有成功，稍后会再试。"

    def __init__(self, code: str, detail: str, zh: str | None = None, status: int | None = None,
                 extra: dict | None = None):
        super().__init__(f"{code}: {detail}", zh)
        self.code, self.status, self.extra = code, status, extra or {}
