"""The screen registry: name -> "module:Class", each class with its ``.kv`` beside it.

A screen's module and rules are loaded the first time it is shown (``screen_class``), and
the app keeps one instance per name, so each ``.kv`` file is read once per process.

Flow so far::

    home ──学习/交党费/我的情况──▶ who ──surname──▶ names ──name──▶ pin ──4th digit ok──▶
      │                            └──输入编号──▶ number ──number──┘     study / dues / status
      └──呼叫工作人员 (stays on home, says help is coming)

    One visit, one login: after the PIN, home (办别的事, 返回上页) and the personal screens
    move between each other with no second PIN (status ──去交党费──▶ dues, ──去学习──▶ study;
    quiz_result ──学下一课──▶ lesson) until 完成 / 回首页 / idle end the visit.

    交党费 after the PIN: dues ──请工作人员确认──▶ confirm ──staff──▶ confirm_pin ──▶ receipt
                                        (beyond the branch limit: override; clock doubt: clockdate)
    home's title held 3 s: confirm ──▶ confirm_pin ──▶ staff ──▶ staff_find / staff_number ──▶ staff_found
        ──▶ staff_member ──▶ dues (staff already confirmed) / staff_consent;
        staff ──▶ staff_takings / staff_behind / staff_terminal / staff_messages (留言)
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from kivy.lang import Builder

REGISTRY: dict[str, str] = {
    "home": "kiosk.screens.home:HomeScreen",
    "who": "kiosk.screens.who:WhoScreen",
    "names": "kiosk.screens.who:NamesScreen",
    "number": "kiosk.screens.number:NumberScreen",
    "pin": "kiosk.screens.pin:PinScreen",
    "status": "kiosk.screens.status:StatusScreen",
    "study": "kiosk.screens.study:StudyScreen",
    "lesson": "kiosk.screens.lesson:LessonScreen",
    "quiz": "kiosk.screens.quiz:QuizScreen",
    "quiz_result": "kiosk.screens.quiz:QuizResultScreen",
    "notices": "kiosk.screens.notices:NoticesScreen",
    "dues": "kiosk.screens.dues:DuesScreen",
    "confirm": "kiosk.screens.confirm:ConfirmScreen",
    "confirm_pin": "kiosk.screens.confirm:ConfirmPinScreen",
    "override": "kiosk.screens.confirm:OverrideScreen",
    "clockdate": "kiosk.screens.confirm:ClockDateScreen",
    "receipt": "kiosk.screens.receipt:ReceiptScreen",
    "staff": "kiosk.screens.staff:StaffMenuScreen",
    "staff_takings": "kiosk.screens.staff:StaffTakingsScreen",
    "staff_behind": "kiosk.screens.staff:StaffBehindScreen",
    "staff_terminal": "kiosk.screens.staff:StaffTerminalScreen",
    "staff_messages": "kiosk.screens.messages:StaffMessagesScreen",
    "staff_find": "kiosk.screens.staff_find:StaffFindScreen",
    "staff_number": "kiosk.screens.staff_find:StaffNumberScreen",
    "staff_found": "kiosk.screens.staff_find:StaffFoundScreen",
    "staff_member": "kiosk.screens.staff_find:StaffMemberScreen",
    "staff_consent": "kiosk.screens.staff_find:StaffConsentScreen",
}

_classes: dict[str, type] = {}
_kv_loaded: set[str] = set()


def screen_class(name: str) -> type:
    if name not in _classes:
        module_name, cls_name = REGISTRY[name].split(":")
        module = import_module(module_name)
        kv = str(Path(module.__file__).with_suffix(".kv"))
        if kv not in _kv_loaded:
            Builder.load_file(kv)
            _kv_loaded.add(kv)
        _classes[name] = getattr(module, cls_name)
    return _classes[name]


__all__ = ["REGISTRY", "screen_class"]
