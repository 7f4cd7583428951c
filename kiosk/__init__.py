"""kiosk: the elder-friendly Kivy touchscreen (see kiosk/README.md).

Importing this package does not import Kivy: :func:`prepare` must set Kivy's environment
first (``kiosk.headless``). The app, the audit and the screenshots live in their modules
(``kiosk.app``, ``kiosk.usability``, ``kiosk.screenshots``); ``kiosk.entry.main`` is what the
``lianxin kiosk`` command calls.
"""

from .headless import prepare

__all__ = ["prepare"]
