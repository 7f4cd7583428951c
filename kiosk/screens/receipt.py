"""The receipt: shown, said aloud, and printed when a printer is configured.

Built from the ledger (``core.dues.receipt``), so what is shown, said and printed is what
was recorded; 再打印一张 reprints the same receipt (same number, same check code). A
printer that is not there is said and shown — the payment is recorded either way.
"""

from __future__ import annotations

from core import dues
from core.money import fen_to_yuan, fen_zh

from .. import printer
from .. import receipt_escpos as receipt_doc
from .dues_flow import PanelScreen


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
        self.body = "\n".join(f"{k}：{v}" for k, v in receipt_doc.receipt_lines(r)) if r else ""
        self.figure = f"{fen_to_yuan(r.amount_fen)}元" if r else ""
        buttons = []
        if r and printer.configured():
            buttons.append(("再打印一张", "", self.reprint))
        buttons.append(("完成", "", self.done))
        self.set_choices(buttons if r else [])
        if r and print_now and printer.configured():
            self.printed = self._print()

    def _print(self) -> str:
        try:
            printer.send(receipt_doc.receipt_bytes(self.receipt))
        except printer.PrinterError as err:
            self.message = err.zh
            return err.zh
        return "收据正在打印，请拿好。"

    def prompt_text(self) -> str:
        r = self.receipt
        if not r:
            return ""
        months = (f"交了{receipt_doc.months_text(r.months)}，共{len(r.months)}个月，"
                  if r.months else "")
        return (f"已经收到{r.member_name}同志的党费，一共{fen_zh(r.amount_fen)}，{months}"
                f"收款人{r.collector_name}。收据号{r.receipt_no}，校验码{r.check_code}。"
                f"{self.printed}办完了请点完成。")

    def repeat_text(self) -> str:
        return self.prompt_text()

    @classmethod
    def sample(cls, app) -> dict:
        entry_id = dues.latest_entry(app.store, "dues")
        return {"entry_id": entry_id} if entry_id else {}

    def reprint(self) -> None:
        self.message = ""
        self.app.say(self._print())

    def done(self) -> None:
        if self.by_staff and self.receipt:
            self.app.show("staff_member", member_no=self.receipt.member_no)
        else:
            self.app.go_home()
