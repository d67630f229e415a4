import datetime as dt

import pytest

from scripts.coerce import to_bool, to_date, to_datetime, to_int, to_phone, to_text
from scripts.textnorm import fold, header_keys

D = dt.datetime


@pytest.mark.parametrize("value, expected", [
    (D(2026, 11, 24, 9, 15), D(2026, 11, 24, 9, 15)),
    (dt.date(2026, 11, 24), D(2026, 11, 24)),
    ("2026-11-24 9:15", D(2026, 11, 24, 9, 15)),
    ("2026/11/24", D(2026, 11, 24)),
    ("2026年11月24日", D(2026, 11, 24)),
    ("2026年11月24日 9时15分", D(2026, 11, 24, 9, 15)),
    ("2026.11.24", D(2026, 11, 24)),
    ("2026-11-24T09:15:30", D(2026, 11, 24, 9, 15, 30)),
    (" 2026/1/5 18:00 ", D(2026, 1, 5, 18, 0)),
    (46350, D(2026, 11, 24)),
    (46350.5, D(2026, 11, 24, 12, 0)),
    (46350.385416666664, D(2026, 11, 24, 9, 15)),
])
def test_datetime_accepts_the_forms_staff_type(value, expected):
    assert to_datetime(value) == expected


def test_serial_follows_the_1904_date_system_when_the_workbook_uses_it():
    assert to_datetime(44888, epoch1904=True) == D(2026, 11, 24)
    assert to_datetime(44888) == D(2022, 11, 23)


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "明天", "11/24", True, -3, dt.time(9, 30), "#REF!"])
def test_datetime_rejects_what_is_not_a_date(value):
    with pytest.raises(ValueError):
        to_datetime(value)


def test_date_drops_the_time():
    assert to_date("2026-11-24 17:30") == dt.date(2026, 11, 24)


@pytest.mark.parametrize("value, expected", [
    (13800138000, "13800138000"),
    (13800138000.0, "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("008613800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("010-12345678", "01012345678"),
    ("0755-1234567", "07551234567"),
    (1012345678, "01012345678"),
])
def test_phone_normalises_mobiles_and_landlines(value, expected):
    assert to_phone(value) == expected


@pytest.mark.parametrize("value", ["1381234", "12800138000", "23800138000", 13800138000.5, "电话", True, "#N/A"])
def test_phone_rejects_numbers_that_cannot_be_called(value):
    with pytest.raises(ValueError):
        to_phone(value)


@pytest.mark.parametrize("value, expected", [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("YES", True), ("no", False),
    ("true", True), ("False", False), ("√", True), ("×", False), (True, True), (0, False), (1.0, True),
])
def test_bool_reads_chinese_and_english_marks(value, expected):
    assert to_bool(value) is expected


def test_bool_rejects_other_text():
    with pytest.raises(ValueError):
        to_bool("也许")


@pytest.mark.parametrize("value, expected", [(35, 35), (35.0, 35), ("35", 35), ("35.0", 35)])
def test_int(value, expected):
    assert to_int(value) == expected


@pytest.mark.parametrize("value", [35.5, "三十五", "35岁"])
def test_int_rejects(value):
    with pytest.raises(ValueError):
        to_int(value)


def test_text_shows_integral_floats_without_decimals():
    assert to_text(12345.0) == "12345"
    assert to_text("  张伟 ") == "张伟"


@pytest.mark.parametrize("header, key", [
    ("登記時(shí)間", "登记时间"),
    ("登记时间", "登记时间"),
    ("聯(lián)系電話", "联系电话"),
    ("联 系 电 话", "联系电话"),
    ("来店（来电）", "来店(来电)"),
    ("Visit Time", "visittime"),
])
def test_fold_makes_scripts_widths_spaces_and_pinyin_equal(header, key):
    assert fold(header) == key


@pytest.mark.parametrize("header, last", [
    ("*联系电话", "联系电话"),
    ("联系电话*", "联系电话"),
    ("联系电话（必填）", "联系电话"),
    ("联系电话(required)", "联系电话"),
    ("* 联系电话 (选填)", "联系电话"),
])
def test_header_keys_drop_marks_and_trailing_notes(header, last):
    assert header_keys(header)[-1] == last


@pytest.mark.parametrize("text, expected", [
    ("2026-11-24 下午3:15", dt.datetime(2026, 11, 24, 15, 15)), ("2026年11月24日 上午9点", dt.datetime(2026, 11, 24, 9)),
    ("2026.11.24 14时30分", dt.datetime(2026, 11, 24, 14, 30)),
    ("2026-11-26 周四 10:00", dt.datetime(2026, 11, 26, 10)), ("2026年11月26日（星期四）", dt.datetime(2026, 11, 26)),
])
def test_datetime_text_with_morning_and_afternoon(text, expected):
    assert to_datetime(text) == expected


@pytest.mark.parametrize("value, expected", [
    ("13912340018 微信同号", "13912340018"), ("139-1234-0018（本人）", "13912340018"), ("１３９１２３４００１８", "13912340018"),
    ("+86 139 1234 0018", "13912340018"), ("0086-13912340018", "13912340018"), ("电话：(021)62345678 转8", "02162345678"),
    ("13912340018 13812345678", "13912340018"),
])
def test_phone_words_around_one_number_are_dropped(value, expected):
    assert to_phone(value) == expected


@pytest.mark.parametrize("value", ["不留", "拒留", "未留", "客户拒绝", "拒绝提供", "无", "没留", "客户不留电话"])
def test_phone_refusals_are_declined(value):
    from scripts.coerce import DECLINED
    assert to_phone(value) is DECLINED


@pytest.mark.parametrize("value, expected", [
    ("已建", True), ("已建卡", True), ("建了", True), ("有", True), ("是", True), ("Y", True), ("√", True),
    ("未建", False), ("没建", False), ("沒建", False), ("无", False), ("否", False), ("N", False), ("×", False),
])
def test_yes_and_no_as_people_write_them(value, expected):
    assert to_bool(value) is expected


@pytest.mark.parametrize("value, done, unclear", [
    ("已打", True, False), ("已聯繫", True, False), ("OK", True, False), ("✓", True, False), ("已回覆", True, False),
    ("未打", False, False), ("未回訪", False, False), ("✗", False, False), ("待定", False, False), ("-", False, False),
    ("无", False, False), ("客户说再联系", True, True),
])
def test_done_marks(value, done, unclear):
    from scripts.coerce import done_mark
    mark = done_mark(value)
    assert bool(mark) is done
    if done:
        assert mark.unclear is unclear


@pytest.mark.parametrize("text, expected", [
    ("11/23已回访，满意", (11, 23)), ("11-20 10:40 已打", (11, 20)), ("2026.11.24 回访", (11, 24)),
    ("3-5天后再联系", None), ("1-2次", None), ("13912340018", None),
])
def test_a_text_starting_with_a_date(text, expected):
    from scripts.coerce import date_prefix
    led = date_prefix(text)
    assert (None if led is None else (led[0].month, led[0].day)) == expected
