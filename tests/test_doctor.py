"""``lianxin doctor`` speaks to village staff.

Pins: every check has a Chinese title and a plain-Chinese line; a check that is not ok
says in Chinese what to do; the printed report is two lines a check — ``[标记] 标题：中文``
then the English detail indented, as the CLI's errors print; a missing store is a problem
whose Chinese line names the command that makes one; a working store counts its events
through ``core.outbox``.
"""

from __future__ import annotations

import re

from cli import doctor

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_check_speaks_chinese_and_says_what_to_do(demo_store):
    checks = doctor.run(demo_store.path)
    names = [c.name for c in checks]
    assert {"key file", "store", "audit chain", "disk", "Chinese font", "hub"} <= set(names)
    for c in checks:
        assert HAN.search(c.title), c
        assert HAN.search(c.zh), c
        if c.ok is not True and c.name != "speech in":   # a missing model needs nothing done
            assert re.search("请|运行", c.zh), c
    store = next(c for c in checks if c.name == "store")
    assert store.ok and "条记录" in store.zh


def test_report_is_chinese_first_then_the_english_detail(tmp_path):
    rows = [c.as_dict() for c in doctor.check_store(tmp_path / "absent.db")]
    lines = doctor.format_rows(rows)
    assert len(lines) == 2 * len(rows)
    first, detail = lines[0], lines[1]
    assert first.startswith("[有问题] 本机数据：") and "lianxin init" in first
    assert detail.startswith("  (store: NoStore: ") and detail.endswith(")")
    assert not HAN.search(detail)


def test_a_pinned_clock_is_a_problem_outside_tests(monkeypatch):
    # The suite itself runs on a pinned clock (tests/conftest.py): that is what doctor flags.
    check = doctor.check_clock()
    assert check.ok is False and "LIANXIN_NOW" in check.detail and "请联系" in check.zh
    monkeypatch.setenv("LIANXIN_NOW", "yesterday")
    assert doctor.check_clock().ok is False
    monkeypatch.delenv("LIANXIN_NOW")
    check = doctor.check_clock()
    assert check.ok is True and check.zh == "终端的时间正常。"
