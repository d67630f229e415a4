"""Cell values to typed values: the one place where Excel's and Google's different Python types meet.

Every reader hands cells over as Python values (str, int, float, bool, datetime, date, time or None).
A converter returns the typed value or raises ``ValueError`` with a short Chinese reason; the caller
turns that into an ``invalid_value`` finding. Empty cells never reach a converter.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Mapping

from .textnorm import fold

Converter = Callable[[Any], Any]

EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_MAX_SERIAL = 2958465  # 9999-12-31

_DATE_TEXT = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:：时時点點]\s*(?P<M>\d{1,2})?\s*(?:[:：分]\s*(?P<S>\d{1,2}(?:\.\d+)?)?\s*秒?)?)?$"
)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_PHONE_NOISE = re.compile(r"[\s\-–—()（）]")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

_TRUE = frozenset(fold(v) for v in ("是", "y", "yes", "true", "√", "✓", "✔", "1", "t", "对", "有"))
_FALSE = frozenset(fold(v) for v in ("否", "n", "no", "false", "×", "✗", "✘", "x", "0", "f", "无"))


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_error(value: Any) -> None:
    if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
        raise ValueError("单元格是公式错误")


def serial_to_datetime(serial: float, epoch1904: bool = False) -> dt.datetime:
    if not 0 < serial < _MAX_SERIAL:
        raise ValueError(f"数字 {serial:g} 不是日期")
    base = _EPOCH_1904 if epoch1904 else _EPOCH_1900
    # Round to the second: 46000.5 is stored as 46000.49999999....
    return base + dt.timedelta(seconds=round(serial * 86400))


def to_datetime(value: Any, epoch1904: bool = False) -> dt.datetime:
    """A naive local datetime from an Excel date, a serial number or a text such as 2026年11月24日 9:15."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValueError("是/否 不是日期")
    if isinstance(value, (int, float)):
        return serial_to_datetime(float(value), epoch1904)
    if isinstance(value, dt.time):
        raise ValueError("只有时间没有日期")
    _check_error(value)
    text = str(value).strip()
    match = _DATE_TEXT.match(text)
    if not match:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("不是日期时间（如 2026-11-24 9:15）") from None
        return parsed
    parts = match.groupdict()
    try:
        seconds = float(parts["S"] or 0)
        return dt.datetime(
            int(parts["y"]), int(parts["m"]), int(parts["d"]),
            int(parts["H"] or 0), int(parts["M"] or 0), int(seconds), round(seconds % 1 * 1e6),
        )
    except ValueError:
        raise ValueError("日期不存在") from None


def to_date(value: Any, epoch1904: bool = False) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return to_datetime(value, epoch1904).date()


def to_phone(value: Any) -> str:
    """A phone number as digits: mobile 1[3-9]xxxxxxxxx or a landline with its area code."""
    kind = type(value)
    if kind is float or kind is int:  # the usual case: a mobile number stored as a number
        number = int(value)
        if number == value and 13_000_000_000 <= number < 20_000_000_000:
            return str(number)
    if isinstance(value, bool):
        raise ValueError("不是电话号码")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("不是电话号码")
        value = int(value)
    if isinstance(value, int):
        digits = str(value)
        if _MOBILE.match(digits) or _LANDLINE.match(digits):
            return digits
        if _LANDLINE.match("0" + digits):  # a landline typed as a number loses its leading 0
            return "0" + digits
        raise ValueError("不是有效的手机号或带区号的固话")
    _check_error(value)
    text = str(value).strip()
    digits = _PHONE_NOISE.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.match(digits[2:]):
        digits = digits[2:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    raise ValueError("不是有效的手机号或带区号的固话")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    _check_error(value)
    key = fold(str(value))
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("应填 是/否")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("应填整数")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("应填整数")
    _check_error(value)
    text = str(value).strip()
    try:
        return int(float(text)) if re.fullmatch(r"-?\d+(\.0+)?", text) else int(text)
    except ValueError:
        raise ValueError("应填整数") from None


def to_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != dt.time() else value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "是" if value else "否"
    _check_error(value)
    return str(value).strip()


def to_email(value: Any) -> str:
    text = to_text(value)
    if not _EMAIL.match(text):
        raise ValueError("不是有效的邮箱地址")
    return text


def choice_converter(choices: Mapping[str, str]) -> Converter:
    """``choices`` maps folded spellings to the canonical value."""

    def convert(value: Any) -> str:
        key = fold(to_text(value))
        try:
            return choices[key]
        except KeyError:
            allowed = "、".join(dict.fromkeys(choices.values()))
            raise ValueError(f"应为 {allowed} 之一") from None

    return convert


def converter_for(type_name: str, *, choices: Mapping[str, str] | None = None, epoch1904: bool = False) -> Converter:
    """The converter of one schema type. Results for repeated cell values are memoised by the caller."""
    if type_name == "datetime":
        return lambda v: to_datetime(v, epoch1904)
    if type_name == "date":
        return lambda v: to_date(v, epoch1904)
    if type_name == "choice":
        return choice_converter(choices or {})
    simple: dict[str, Converter] = {
        "phone": to_phone, "bool": to_bool, "int": to_int, "text": to_text, "staff": to_text, "email": to_email,
    }
    try:
        return simple[type_name]
    except KeyError:
        raise ValueError(f"unknown type {type_name!r}") from None
