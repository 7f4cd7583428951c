"""Domain errors: one English detail for logs, one plain-Chinese sentence for people.

    LianxinError
    ├── StoreError            the terminal database cannot be opened or used
    │   ├── KeyMissing        no key file beside the database
    │   ├── WrongKey          the key does not open this database (or the file is damaged)
    │   └── NoStore           no database at that path (never created silently)
    ├── NotFound              a member, staff account, lesson or entry that does not exist
    ├── InvalidInput          a value that breaks a rule (bad PIN format, bad month, bad category)
    ├── AuthError             wrong PIN
    │   └── Locked            too many wrong PINs; locked until a time
    ├── PolicyError           a dues rule needs a staff override
    │   ├── LimitExceeded     paying back/ahead beyond the branch's limits: needs a reason
    │   └── ClockSuspect      the terminal clock looks wrong: staff confirm the date
    └── ConsentError          an action the member has not consented to
"""

from __future__ import annotations


class LianxinError(Exception):
    """Base error. ``str(err)`` is the English detail; ``err.zh`` is what a member or staff sees."""

    zh_default = "操作没有成功，请找工作人员帮忙。"

    def __init__(self, detail: str, zh: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.zh = zh or self.zh_default


class StoreError(LianxinError):
    zh_default = "本机数据打不开，请联系工作人员。"


class KeyMissing(StoreError):
    zh_default = "找不到本机数据的密钥文件，请联系工作人员。"


class WrongKey(StoreError):
    zh_default = "密钥和本机数据对不上，数据没有改动，请联系工作人员。"


class NoStore(StoreError):
    zh_default = "这台终端还没有建立数据，请工作人员先向服务中心注册（或先初始化）。"


class NotFound(LianxinError):
    zh_default = "没有找到。"


class InvalidInput(LianxinError):
    zh_default = "输入的内容不对，请再试一次。"


class AuthError(LianxinError):
    zh_default = "密码不对，请再试一次。"

    def __init__(self, detail: str, zh: str | None = None, tries_left: int | None = None):
        super().__init__(detail, zh)
        self.tries_left = tries_left


class Locked(AuthError):
    zh_default = "密码错误次数太多，已暂时锁定，请十五分钟后再试，或找工作人员。"

    def __init__(self, detail: str, until: str, zh: str | None = None):
        super().__init__(detail, zh, tries_left=0)
        self.until = until


class PolicyError(LianxinError):
    zh_default = "这笔党费需要工作人员特别确认。"


class LimitExceeded(PolicyError):
    zh_default = "补交或预交的月数超过了支部规定，需要工作人员填写原因后确认。"


class ClockSuspect(PolicyError):
    zh_default = "终端的时间可能不准，请工作人员核对今天的日期后再确认。"


class ConsentError(LianxinError):
    zh_default = "您还没有同意这项服务。"
