"""Prompts only the phone line says, kept apart from ``prompts.CATALOGUE`` (the kiosk's and
the shared ones) so the phone dialog can grow without touching the kiosk's catalogue.

``PHONE_CATALOGUE`` is the union to hand to ``PromptCache(catalogue=...)`` wherever phone
prompts are rendered (the phone line, ``lianxin voice prerender``). Ids here never shadow a
shared id (a test checks), so a staff recording made for a shared prompt applies on both.

Wording rules as in ``prompts``: short sentences, one idea each, the key named in the words
a caller hears ("请按1"), numbers written as digits (``speech_text`` reads them).
"""

from __future__ import annotations

from types import MappingProxyType

from .prompts import CATALOGUE

__all__ = ["PHONE_CATALOGUE", "PHONE_PROMPTS"]

PHONE_PROMPTS: dict[str, str] = {
    # Identification: short (a patient caller hears the dues amount within 20 s of answer),
    # and nothing personal before the PIN.
    "phone.hello": "连心热线，请输入编号，按井号结束。",
    "phone.ask_number": "请输入党员编号，按井号结束。",
    "phone.hello_pin": "连心热线，请输入密码。不是本人请按星号。",
    "phone.pin_or_not_me": "请输入密码，不是本人请按星号。",
    "phone.pin": "请输入密码。",
    "id.wrong": "编号或者密码不对。",
    "id.too_many": "输错太多次了。需要帮助，请找支部工作人员。",
    "id.spent": "今天电话里输错太多次，请明天再打，或者找工作人员。",
    # Once the PIN was right: the name, then the dues (dialog_menu), then the menu (≤ 8 s).
    "phone.hello_name": "{name}同志，您好。",
    "phone.pay_at_kiosk": "交党费请到村里的服务终端。",
    "phone.main": "听课按2，通知按3，留言按0，重听按9。",
    "phone.error": "系统出了点问题，请稍后再打，或者找支部工作人员。",
    "key.invalid": "这个按键没有对应的选项。",
    "pin.short": "密码是四位数字，请重新输入。",
    "pin.by_keypad": "为了安全，密码请用电话按键输入。",
    "lesson.reason": "推荐的原因是：{reason}。",
    "lesson.choose": "听这一课请按1，换一课请按2，回到主菜单请按0。",
    "lesson.none": "现在还没有可以听的课程。",
    "lesson.stopped": "已经停止，学习时间已经记下。",
    "notices.intro": "下面是最近的{count}条通知。",
    "message.empty": "没有录到您的声音，留言没有保存。",
    "message.no_consent": "您之前选择了不保存语音留言，所以不能留言。需要帮助，请找支部工作人员。",
    "offer.retry": "想重新试一次，请按1。",
}

PHONE_CATALOGUE = MappingProxyType({**CATALOGUE, **PHONE_PROMPTS})
