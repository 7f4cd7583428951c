"""The receipt: shown, said aloud, and printed when a printer is configured.

Built from the ledger (``core.dues.receipt``), so what is shown, said and printed is what
was recorded; 再打印一张 reprints the same receipt (same number, same check code). A
printer that is not there is said and shown — the payment is recorded either way.
"""

from __future__ import annotations

from core import dues
from core.money import fen_zh

from .. import printer
from .. import receipt_escpos as receipt_doc
from .dues_flow import PanelScreen

PRINTED = "收据已经打印。"


class ReceiptScreen(PanelScreen):
    def setup(self, entry_id: str | None = None, by_staff: bool = False,
              print_now: bool = False, **kwargs) -> None:
        super().setup(**kwargs)
        self.receipt = dues.receipt(self.app.store, entry_id) if entry_id else None
        self.by_staff = by_staff
        self.printed = ""
        self.left_share = 1.6
        r = self.receipt
        self.title = "党费收据" if r else ""
        self.body = ("\n".join(f"{k}：{v}" for k, v in receipt_doc.receipt_lines(r, screen=True))
                     if r else "")
        self.figure = fen_zh(r.amount_fen) if r else ""
        buttons = []
        if r and printer.configured():
            buttons.append(("再打印一张", "", self.reprint))
        if r and not by_staff:
            buttons.append(("办别的事", "回首页，办别的事", self.app.home))
        buttons.append(("完成", "完成，退出", self.done))
        self.set_choices(buttons if r else [])
        if r and print_now and printer.configured():
            self.printed = self._print()

    def _print(self) -> str:
        try:
            printer.send(receipt_doc.receipt_bytes(self.receipt))
        except printer.PrinterError as err:
            self.message = err.zh
            return err.zh
        return PRINTED

    def prompt_text(self) -> str:
        """The amount and the months, and whether the receipt printed; never its number
        or check code (letters and digits no one can take in by ear)."""
        r = self.receipt
        if not r:
            return ""
        months = f"{len(r.months)}个月" if r.months else ""
        printed = PRINTED if self.printed == PRINTED else ""
        return f"收到党费{fen_zh(r.amount_fen)}，{months}。{printed}" if months else \
            f"收到党费{fen_zh(r.amount_fen)}。{printed}"

    def details(self) -> str:
        r = self.receipt
        if not r:
            return ""
        months = f"交了{receipt_doc.months_text(r.months)}，" if r.months else ""
        failed = self.printed if self.printed and self.printed != PRINTED else ""
        return f"{months}收款人{r.collector_name}。{failed}办完了请点完成。"

    def repeat_text(self) -> str:
        return "".join(t for t in (self.prompt_text(), self.details()) if t)

    @classmethod
    def sample(cls, app) -> dict:
        entry_id = dues.latest_entry(app.store, "dues")
        return {"entry_id": entry_id} if entry_id else {}

    def reprint(self) -> None:
        self.message = ""
        said = self._print()
        self.app.say("又打印了一张。" if said == PRINTED else said)

    def done(self) -> None:
        if self.by_staff and self.receipt:
            self.app.show("staff_member", member_no=self.receipt.member_no)
        else:
            self.app.go_home()
