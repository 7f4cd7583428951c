"""The sync protocol's refusals: every error code, its HTTP status and its text.

Part of ``sync.protocol`` (which re-exports everything here). Its own module because both
halves of the protocol, request authentication (``protocol_auth``) and push batches
(``protocol_batch``), refuse with :class:`ProtocolError`, and the hub turns one into its
HTTP answer without caring which half raised it. docs/sync-protocol.md lists the codes.
"""

from __future__ import annotations

#: code -> (HTTP status, English message, Chinese message)
ERRORS: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "the request is not valid", "请求格式不对。"),
    "bad_json": (400, "the body is not valid JSON", "请求内容格式不对。"),
    "bad_encoding": (400, "the body's Content-Encoding cannot be decoded", "请求内容无法解压。"),
    "bad_batch": (400, "the batch is not valid", "上传的数据格式不对。"),
    "bad_code": (400, "the enrollment code is unknown, used or expired",
                 "注册码不对、已经用过或者过期了，请向上级要一个新的注册码。"),
    "auth_missing": (401, "the request is not signed", "请求没有签名。"),
    "unknown_terminal": (401, "this terminal is not enrolled at this hub",
                         "这台终端还没有在服务中心注册。"),
    "bad_signature": (401, "the signature does not verify", "签名不对，请求被拒绝。"),
    "stale_time": (401, "the request time is too far from the hub's clock",
                   "终端时间和服务中心相差太多，请检查终端时间。"),
    "replay": (401, "this request was already received (replayed nonce)", "重复的请求，已拒绝。"),
    "terminal_revoked": (403, "this terminal has been revoked at the hub",
                         "这台终端已被服务中心停用，请联系上级。"),
    "not_found": (404, "not found", "没有找到。"),
    "method_not_allowed": (405, "method not allowed", "请求方式不对。"),
    "already_enrolled": (409, "a terminal with this id is already enrolled",
                         "这台终端已经注册过了。"),
    "wrong_branch": (409, "the terminal belongs to another branch", "这台终端属于别的支部。"),
    "seq_gap": (409, "the events do not continue the terminal's sequence",
                "上传的记录不连续，请重新同步。"),
    "seq_conflict": (409, "the events differ from the ones the hub stored under the same numbers",
                     "终端记录和服务中心的不一致，请联系上级。"),
    "event_conflict": (409, "an event id is already stored for another terminal or number",
                       "记录编号冲突，请联系上级。"),
    "audit_gap": (409, "the audit entries do not continue the terminal's chain",
                  "留痕记录不连续，请重新同步。"),
    "audit_chain_broken": (409, "the audit chain does not verify", "留痕记录被改动过，已拒绝。"),
    "journal_mismatch": (409, "the events do not match their audit entries",
                         "记录和留痕对不上，已拒绝。"),
    "receipt_conflict": (409, "a payment's receipt number is already held for another entry "
                         "of this terminal",
                         "收款收据号重复，服务中心已拒收这批记录，请联系服务中心。"),
    "foreign_terminal": (422, "an event names another terminal than the one that signed the push",
                         "终端发来的记录不符合规定，已被服务中心拒收，请联系服务中心。"),
    "foreign_branch": (422, "an event names another branch than the terminal's",
                       "终端发来的记录不符合规定，已被服务中心拒收，请联系服务中心。"),
    "unknown_event_type": (422, "an event's type is not in the event catalogue (core.events)",
                           "终端发来了服务中心不认识的记录，请升级终端软件或联系服务中心。"),
    "upgrade_required": (426, "the terminal's sync protocol is older than the hub's",
                         "终端软件版本太旧，服务中心已经不能接收，请升级终端软件后再同步。"),
    "bad_time": (422, "an event's time is not an ISO time with a zone",
                 "终端发来的记录时间格式不对，已拒收，请联系服务中心。"),
    "not_authorized": (422, "an event's type is the hub's to author, not a terminal's",
                       "这项内容由服务中心统一管理，终端发来的修改已被拒收，请联系服务中心。"),
    "bad_amount": (422, "a payment's amounts are not whole, non-negative fen adding up to its "
                   "amount",
                   "终端发来的收款金额不对，已被服务中心拒收，请联系服务中心。"),
    "not_announced": (409, "the voice message was not announced by a message.recorded event "
                      "of this terminal", "服务中心没有这台终端的这条留言记录，录音没有收下。"),
    "audio_mismatch": (422, "the audio does not hash to the sha256 its message.recorded "
                       "announced", "留言录音和记录对不上，服务中心没有收下。"),
    "range_not_satisfiable": (416, "the requested range is outside the file",
                              "下载位置不对。"),
    "too_many_requests": (429, "too many enrollment attempts from this address; retry later",
                          "注册尝试太频繁，请过一分钟再试。"),
    "body_too_large": (413, "the body is larger than allowed (8 MiB; voice audio: "
                       "MAX_VOICE_BYTES)", "上传的数据太大。"),
    "unsupported_media_type": (415, "the body must be JSON (voice audio: audio/wav)",
                               "请求内容类型不对。"),
    "internal": (500, "the hub failed; nothing was applied", "服务中心出错了，数据没有改动。"),
}


class ProtocolError(Exception):
    """A refusal the other side can act on: ``code`` names it, ``status`` is its HTTP status."""

    def __init__(self, code: str, detail: str | None = None, **extra):
        status, message, zh = ERRORS[code]
        super().__init__(f"{code}: {detail or message}")
        self.code, self.status, self.zh = code, status, zh
        self.message = f"{message}: {detail}" if detail else message
        self.extra = extra

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "message_zh": self.zh,
                          **self.extra}}
