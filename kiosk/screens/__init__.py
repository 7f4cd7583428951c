"""The screen registry: name -> "module:Class", each class with its ``.kv`` beside it.

A screen's module and rules are loaded the first time it is shown (``screen_class``), and
the app keeps one instance per name, so each ``.kv`` file is read once per process.

Flow so far::

    home ──学习/交党费/我的情况──▶ who ──surname──▶ names ──name──▶ pin ──ok──▶ status
      │                            └──输入编号──▶ number ──number──┘
      └──呼叫工作人员 (stays on home, says help is coming)
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
