"""The idle watch: ask whether the member is still there, then clear and go home.

After ``ask_after`` seconds (60) without a touch anywhere on the window, the kiosk says
and shows "您还在吗？请摸一下屏幕。" on the current screen's message line. A touch puts
everything back as it was (the question is taken off the screen) and starts counting
again. After ``home_after`` seconds more (30) it says it is going home, then goes home the
way 回首页 does (``KioskApp.end_visit``): the member is forgotten, every screen is
cleared through its ``setup()`` — the lesson reader and the quiz save the member's
progress before they forget it — and volume and text size go back to the defaults.
Something is said before anything on screen changes.

Nothing is watched on the home screen when there is nothing of a visit to clear
(``KioskApp.personalised``: nobody identified, no staff, volume and text size as they
start). Screens that keep the member busy without touches (a lesson read
aloud) call :meth:`IdleWatch.poke`.

Timers run on Kivy's ``Clock``; the timeouts are constructor arguments, so tests use a
fraction of a second and run the clock.
"""

from __future__ import annotations

ASK = "您还在吗？请摸一下屏幕。"
GOING_HOME = "您很久没有操作了，现在回到首页。"
ASK_AFTER_S = 60.0
HOME_AFTER_S = 30.0


class IdleWatch:
    def __init__(self, app, ask_after: float = ASK_AFTER_S, home_after: float = HOME_AFTER_S):
        self.app = app
        self.ask_after = ask_after
        self.home_after = home_after
        self.asked = False
        self._event = None
        self._window = None

    def start(self) -> None:
        from kivy.core.window import Window

        if self._window is None:
            self._window = Window
            Window.bind(on_touch_down=self._touched)
        self.poke()

    def stop(self) -> None:
        self._cancel()
        if self._window is not None:
            self._window.unbind(on_touch_down=self._touched)
            self._window = None

    def poke(self) -> None:
        """Activity: start counting again (and take the question off the screen)."""
        self._cancel()
        if self.asked:
            self.asked = False
            screen = self._screen()
            if screen is not None and screen.message == ASK:
                screen.message = ""
        if self._window is not None:
            self._schedule(self._ask, self.ask_after)

    # -- inner workings ---------------------------------------------------------------------
    def _touched(self, _window, _touch):
        self.poke()
        return False                       # the touch goes on to the widgets as usual

    def _screen(self):
        manager = getattr(self.app, "manager", None)
        return manager.current_screen if manager is not None else None

    def _guarding(self) -> bool:
        screen = self._screen()
        personal = getattr(self.app, "personalised", lambda: bool(self.app.member))()
        return screen is not None and (personal or screen.name != "home")

    def _schedule(self, callback, seconds: float) -> None:
        from kivy.clock import Clock

        self._event = Clock.schedule_once(callback, seconds)

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _ask(self, _dt) -> None:
        self._event = None
        if not self._guarding():
            return                          # home with nobody: wait for the next touch
        self.asked = True
        self._screen().tell(ASK)
        self._schedule(self._go_home, self.home_after)

    def _go_home(self, _dt) -> None:
        self._event = None
        self.asked = False
        self.app.say(GOING_HOME)
        self.app.go_home()
        self.poke()
