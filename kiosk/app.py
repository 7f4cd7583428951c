"""The kiosk app: screens in a ScreenManager above the always-present bar.

The app holds what the whole kiosk shares — the store, the ``speak(text)`` callable, the
text scale and volume, and the member who has identified (``member``, cleared by 回首页) —
and moves between screens with :meth:`KioskApp.show`, which fills the screen, switches to
it with no animation, and says its prompt.

Speech goes through the injected ``speak``: a list-recording function in tests,
``kiosk.speech.Speaker`` on a real kiosk. ``listen`` is ``kiosk.listen.Listener`` when a
speech model is configured (None: speech input off). Either may have ``start(app)`` and
``close()``, called when the app starts and stops (the speaker hooks touches and
``volume``, the listener the microphone). The domain is called from here and the screens;
it never touches widgets.

One visit, one login: once a member has given their PIN, the personal screens (学习,
交党费, 我的情况, and 支部通知) move between each other without asking again, and home
greets the member by name with a 完成 button. The visit ends (``end_visit``) with 完成,
the bar's 回首页 or the idle timeout: the member is forgotten, every screen opened since is
cleared, and volume and text size go back to the defaults for the next person.

上一页 (the bar's back button, ``go_back``) returns to the screen shown before, with the
arguments it was shown with; steps that must not be replayed (``NO_RETURN``: a PIN, a
staff confirmation, a receipt that would print again) are skipped, and going back past
the first screen lands on home with the visit still going (``home``).

Run for real with ``KioskApp(store, speak=...).run()``; tests and the audit call
:meth:`attach` instead, which builds the same tree into Kivy's window without entering
Kivy's main loop (frames are drawn by :func:`kiosk.drive.pump`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, DictProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from . import theme
from .headless import DEFAULT_SIZE
from .idle import IdleWatch
from .screens import REGISTRY, screen_class

_WIDGETS_KV = str(Path(__file__).with_name("widgets.kv"))
_kv_loaded = False
# Screens 上一页 passes over: replaying them would ask a PIN again, print a receipt twice
# or restart a quiz; the "who are you" screens too once the member has identified.
NO_RETURN = frozenset({"pin", "confirm", "confirm_pin", "override", "clockdate", "receipt",
                       "quiz", "quiz_result"})
IDENTIFY = frozenset({"who", "names", "number"})
HISTORY_MAX = 40
DEFAULT_VOLUME = 3


def load_rules() -> None:
    """The CJK font and the global widget rules, once per process."""
    global _kv_loaded
    theme.register_font()
    if not _kv_loaded:
        from . import widgets  # noqa: F401  (the classes the rules name)

        Builder.load_file(_WIDGETS_KV)
        _kv_loaded = True


class KioskApp(App):
    text_scale = NumericProperty(theme.TEXT_SCALES[0])
    volume = NumericProperty(DEFAULT_VOLUME)   # 1..theme.VOLUME_LEVELS
    member = DictProperty({})                  # {} when nobody has identified
    last_said = StringProperty("")
    can_go_back = BooleanProperty(False)       # False on home: the bar says 已在首页
    staff_hold_s = 3.0                         # hold home's title this long: staff login

    def __init__(self, store, *, speak: Callable[[str], None], listen=None,
                 idle: tuple[float, float] = (60.0, 30.0), **kwargs):
        super().__init__(**kwargs)
        self.idle = IdleWatch(self, *idle)     # (ask after, then home after) seconds
        self.title = "连心"
        self.store = store
        self.speak = speak
        self.listener = listen
        self.history: list[tuple[str, dict]] = []    # (screen, its setup arguments) before this
        self._shown: tuple[str, dict] | None = None
        self._opened: set[str] = set()     # screens shown since home was last reached
        self.pending = ""                      # the personal screen wanted after the PIN
        self.staff = None                      # core.branch.StaffConfirmation in staff mode
        self.manager: ScreenManager | None = None

    # -- building ---------------------------------------------------------------------
    def build(self):
        from .widgets import Bar

        load_rules()
        root = BoxLayout(orientation="vertical")
        self.manager = ScreenManager(transition=NoTransition())
        root.add_widget(self.manager)
        # Staff mode's door is not in the bar: pressing and holding home's title for
        # STAFF_HOLD_S opens it (screens/home.py), so the one thing a member in need finds
        # is the red 呼叫工作人员, and no member opens the staff login by a slip.
        root.add_widget(Bar())
        return root

    def on_start(self):
        self._start_parts()
        self.show("home")
        self.idle.start()

    def on_stop(self):
        self.idle.stop()
        for part in (self.listener, self.speak):
            if hasattr(part, "close"):
                part.close()

    def _start_parts(self) -> None:
        for part in (self.speak, self.listener):
            if hasattr(part, "start"):
                part.start(self)

    def attach(self, size: tuple[int, int] | None = DEFAULT_SIZE):
        """Build into the (offscreen) window without Kivy's main loop; returns the root."""
        from kivy.base import EventLoop
        from kivy.core.window import Window

        EventLoop.ensure_window()
        if size:
            Window.size = size
        self.root = self.build()
        Window.add_widget(self.root)
        self._start_parts()
        self.show("home")
        self.idle.start()
        return self.root

    def detach(self):
        from kivy.core.window import Window

        if self.root is not None:
            Window.remove_widget(self.root)
        self.dispatch("on_stop")          # kv's ``app`` proxy lets go of this app on on_stop
        if App._running_app is self:
            App._running_app = None

    # -- moving between screens -----------------------------------------------------------
    def screen(self, name: str):
        if not self.manager.has_screen(name):
            self.manager.add_widget(screen_class(name)(name=name))
        return self.manager.get_screen(name)

    @property
    def current(self):
        return self.manager.current_screen

    def show(self, name: str, **kwargs):
        return self._show(name, kwargs, remember=True)

    def _show(self, name: str, kwargs: dict, *, remember: bool):
        if name == "home":
            self.history.clear()
        elif remember and self._shown is not None and self._shown != (name, kwargs):
            self.history = [*self.history, self._shown][-HISTORY_MAX:]
        self._shown = (name, kwargs)
        self.can_go_back = name != "home"
        self._opened.add(name)
        screen = self.screen(name)
        screen.setup(**kwargs)
        self.manager.current = name
        self.say(screen.prompt_text())
        if hasattr(self.listener, "refresh"):
            self.listener.refresh()
        return screen

    def go_back(self) -> None:
        """上一页: the screen before this one (see the module docstring); on home, nothing
        (the button itself says 这里已经是首页了 when pressed)."""
        if self.manager.current == "home":
            return
        while self.history:
            name, kwargs = self.history.pop()
            if name == "home":
                break
            if name in NO_RETURN or (self.member and name in IDENTIFY):
                continue
            self._show(name, kwargs, remember=False)
            return
        if self.staff is None:
            self.home()                      # the visit (if any) goes on
        else:
            self.end_visit()                 # staff mode: over

    def home(self) -> None:
        """Home with the visit still going (办别的事, 上一页 from the first screen)."""
        self.show("home")

    def ask_member(self, then: str) -> None:
        """Personal screens start here: who are you, then the PIN, then ``then``."""
        if self.member:
            self.open_personal(then)
            return
        self.pending = then
        self.show("who")

    def logged_in(self, member: dict) -> None:
        self.member = {"member_no": member["member_no"], "name": member["name"]}
        self.open_personal(self.pending or "status")

    def open_personal(self, then: str) -> None:
        # Screens of later issues (study, dues) fall back to the member's own status page.
        self.pending = ""
        self.show(then if then in REGISTRY else "status")

    def personalised(self) -> bool:
        """Anything of this visit to forget: a member, staff, or volume / text size changed."""
        return bool(self.member) or self.staff is not None or \
            self.text_scale != theme.TEXT_SCALES[0] or self.volume != DEFAULT_VOLUME

    def end_visit(self) -> None:
        """完成 / 回首页 / idle: the visit ends. The member is forgotten (nothing personal
        stays on screen) and volume and text size go back to the defaults, so nothing of
        one member carries to the next; then home."""
        self.text_scale = theme.TEXT_SCALES[0]
        self.volume = DEFAULT_VOLUME
        self.member = {}
        self.pending = ""
        self.staff = None
        # Only screens opened since the last time home was reached can hold anything
        # personal; resetting every screen ever built made 回首页 slow.
        for name in self._opened:
            if self.manager.has_screen(name):
                self.manager.get_screen(name).setup()
        self._opened = set()
        self.show("home")

    go_home = end_visit          # the bar's 回首页 and the idle watch

    def staff_entry(self) -> None:
        """工作人员: the staff menu, after a staff PIN. A member's visit ends only once a
        staff PIN was accepted (``staff_in``): pressed by mistake, 返回 goes back."""
        if self.staff is not None:
            self.show("staff")
            return
        self.show("confirm", job=None)

    def staff_in(self, confirmation) -> None:
        self.member = {}
        self.staff = confirmation
        self.show("staff")

    # -- speech and the bar -----------------------------------------------------------
    def say(self, text: str) -> None:
        if text:
            self.last_said = text
            self.speak(text)

    def button_pressed(self, button) -> None:
        self.say(button.spoken or button.text)

    def repeat(self) -> None:
        self.say(self.current.repeat_text())

    def volume_step(self, step: int) -> None:
        self.volume = max(1, min(theme.VOLUME_LEVELS, self.volume + step))
        self.say(f"音量{self.volume}")

    def text_step(self, step: int) -> None:
        scales = theme.TEXT_SCALES
        i = max(0, min(len(scales) - 1, scales.index(self.text_scale) + step))
        if scales[i] == self.text_scale:
            self.say("已经是最大的字了" if step > 0 else "已经是最小的字了")
        self.text_scale = scales[i]
