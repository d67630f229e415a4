"""Cell values to typed values: the one place where Excel's and Google's different Python types meet.

Every reader hands cells over as Python values (str, int, float, bool, datetime, date, time or None).
A converter returns the typed value or raises ``ValueError`` with a short Chinese reason; the caller
turns that into an ``invalid_value`` finding. Empty cells never reach a converter.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .textnorm import fold

Converter = Callable[[Any], Any]

EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)
_MAX_SERIAL = 2958465  # 9999-12-31

# A date at the start of a text, with or without a year, optionally followed by a time of day:
# "2026-11-24 9:15", "11/23已回访", "11月20日", "11-20 10:40 已打".
_DATE_PREFIX = re.compile(
    r"^\s*(?:(?P<y>\d{4})\s*[-/.年]\s*)?(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?![\d天次个個人辆輛台周週月年岁歲万元%])\s*[日号號]?"
    r"(?:[\sT]*(?P<ap>上午|早上|中午|下午|晚上)?\s*(?P<H>\d{1,2})\s*[:：时時点點](?:\s*(?P<M>\d{1,2})(?!\d))?\s*(?:[:：分]\s*(?P<S>\d{1,2}(?:\.\d+)?)?\s*秒?)?)?"
)
_TIME_TEXT = re.compile(
    r"^(?P<ap>上午|早上|中午|下午|晚上|AM|PM|am|pm)?\s*(?P<H>\d{1,2})\s*(?:[:：时時点點]\s*(?P<M>\d{1,2})?\s*(?:[:：分]\s*(?P<S>\d{1,2})?\s*秒?)?)\s*"
    r"(?P<ap2>AM|PM|am|pm)?$"
)
MIN_DATE = dt.datetime(2000, 1, 1)
_LONGEST_DATE = 200  # characters: a longer cell is no date
_LONGEST_MARK = 2000
_LONGEST_PHONE_CELL = 500
SERIAL_2000 = 36526  # 2000-01-01 as an Excel serial: smaller numbers in a date column are not dates
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")
_PHONE_NOISE = re.compile(r"[\s\-–—()（）]")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

_TRUE = frozenset(fold(v) for v in ("是", "y", "yes", "true", "√", "✓", "✔", "1", "t", "对", "有",
                                    "已建", "已建卡", "建了", "已建档", "建档", "建卡", "已办", "ok"))
_FALSE = frozenset(fold(v) for v in ("否", "n", "no", "false", "×", "✗", "✘", "x", "0", "f", "无", "没有",
                                     "未建", "没建", "未建卡", "没建卡", "未建档", "没建档", "不是", "-"))


@dataclass(frozen=True)
class DoneMark:
    """A done-column cell that says the thing was done without saying when (``已打``, ``√``, free text)."""

    text: str
    unclear: bool = False

    def __bool__(self) -> bool:
        return True


class _Declined:
    """The phone cell says the customer declined to leave a number (``不留``, ``拒绝提供``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DECLINED"


DECLINED = _Declined()


@dataclass(frozen=True)
class Yearless:
    """A date written without a year; the reader picks the year nearest to the row's own start date."""

    month: int
    day: int
    time: dt.time | None = None  # None: no time of day was written
    as_date: bool = False  # the field holds dates: resolve to dt.date

    def resolve(self, near: dt.date) -> dt.date | dt.datetime:
        best: dt.date | None = None
        for year in (near.year - 1, near.year, near.year + 1):
            try:
                day = dt.date(year, self.month, self.day)
            except ValueError:  # 02-29 in a common year
                continue
            if best is None or abs((day - near).days) < abs((best - near).days):
                best = day
        if best is None:
            raise ValueError("日期不存在")
        if self.as_date:
            return best
        return dt.datetime.combine(best, self.time or dt.time())


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


def _from_match(match: re.Match, as_date: bool = False) -> dt.datetime | dt.date | Yearless:
    parts = match.groupdict()
    moment = None
    if parts["H"] is not None:
        seconds = float(parts["S"] or 0)
        hour = int(parts["H"])
        if parts.get("ap") in ("下午", "晚上") and hour < 12:
            hour += 12
        try:
            moment = dt.time(hour, int(parts["M"] or 0), int(seconds), round(seconds % 1 * 1e6))
        except ValueError:
            raise ValueError("时间不存在") from None
    month, day = int(parts["m"]), int(parts["d"])
    if parts["y"] is None:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            raise ValueError("日期不存在")
        return Yearless(month, day, moment, as_date=as_date and moment is None)
    try:
        date = dt.date(int(parts["y"]), month, day)
    except ValueError:
        raise ValueError("日期不存在") from None
    if as_date and moment is None:
        return date
    return dt.datetime.combine(date, moment or dt.time())


def date_prefix(text: str, as_date: bool = False) -> tuple[dt.datetime | dt.date | Yearless, str] | None:
    """The date (and time) a text starts with, and the rest of the text; None when it starts with none."""
    match = _DATE_PREFIX.match(text)
    if not match:
        return None
    try:
        return _from_match(match, as_date), text[match.end():]
    except ValueError:
        return None


_WEEKDAY = re.compile(r"\s*[(（]?\s*(?:星期|周|週|礼拜|禮拜)[一二三四五六日天]\s*[)）]?\s*")


def _parse_date_text(text: str, as_date: bool = False) -> dt.datetime | dt.date | Yearless:
    if "星期" in text or "周" in text or "週" in text or "礼拜" in text or "禮拜" in text:
        text = _WEEKDAY.sub(" ", text).strip()  # 2026-11-26 周四 10:00
    match = _DATE_PREFIX.match(text)
    if match and not text[match.end():].strip():
        return _from_match(match, as_date)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("不是日期时间（如 2026-11-24 9:15）") from None
    return parsed.replace(tzinfo=None) if parsed.tzinfo else parsed


def read_datetime(value: Any, epoch1904: bool = False) -> dt.datetime | Yearless:
    """A naive local datetime from an Excel date, a serial number or a text; a Yearless for ``11-20``."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValueError("是/否 不是日期")
    if isinstance(value, (int, float)):
        if value != value or value < SERIAL_2000:  # NaN, or a serial before 2000: 11.1 typed as a date
            raise ValueError(f"数字 {value:g} 不是日期")
        return serial_to_datetime(float(value), epoch1904)
    if isinstance(value, dt.time):
        raise ValueError("只有时间没有日期")
    _check_error(value)
    if len(str(value)) > _LONGEST_DATE:
        raise ValueError("不是日期时间（如 2026-11-24 9:15）")
    return _parse_date_text(unicodedata.normalize("NFKC", str(value)).strip())  # type: ignore[return-value]


def to_datetime(value: Any, epoch1904: bool = False) -> dt.datetime:
    """A naive local datetime from an Excel date, a serial number or a text such as 2026年11月24日 9:15."""
    out = read_datetime(value, epoch1904)
    if isinstance(out, Yearless):
        raise ValueError("日期缺少年份")
    return out


def read_date(value: Any, epoch1904: bool = False) -> dt.date | Yearless:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        _check_error(value)
        if len(value) > _LONGEST_DATE:
            raise ValueError("不是日期（如 2026-11-24）")
        out = _parse_date_text(unicodedata.normalize("NFKC", value).strip(), as_date=True)
        if isinstance(out, Yearless):
            return Yearless(out.month, out.day, None, as_date=True)
        return out.date() if isinstance(out, dt.datetime) else out
    out = read_datetime(value, epoch1904)
    return out if isinstance(out, Yearless) else out.date()


def to_date(value: Any, epoch1904: bool = False) -> dt.date:
    out = read_date(value, epoch1904)
    if isinstance(out, Yearless):
        raise ValueError("日期缺少年份")
    return out


_TIME_EPOCHS = (dt.date(1899, 12, 30), dt.date(1899, 12, 31), dt.date(1900, 1, 1), dt.date(1904, 1, 1))


def read_time(value: Any, epoch1904: bool = False) -> dt.time | dt.datetime | dt.date | Yearless:
    """A time column's cell: a time of day (dt.time), or a full date(-time) that wins over the date column."""
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.datetime):
        if value.date() in _TIME_EPOCHS:  # a time-only cell read as a datetime on the epoch day
            return value.time()
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("是/否 不是时间")
    if isinstance(value, (int, float)):
        if 0 <= value < 1:  # a fraction of a day
            seconds = round(value * 86400)
            return dt.time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)
        return read_datetime(value, epoch1904)
    _check_error(value)
    text = unicodedata.normalize("NFKC", str(value)[:_LONGEST_DATE + 1]).strip()
    match = _TIME_TEXT.match(text)
    if match:
        hour, minute, second = int(match["H"]), int(match["M"] or 0), int(match["S"] or 0)
        marker = (match["ap"] or match["ap2"] or "").lower()
        if marker in ("下午", "晚上", "pm") and hour < 12:
            hour += 12
        try:
            return dt.time(hour, minute, second)
        except ValueError:
            raise ValueError("时间不存在") from None
    try:
        return read_datetime(text, epoch1904)
    except ValueError:
        raise ValueError("不是时间（如 9:15）") from None


# 覆 of 回覆/答覆 stays 覆 in a character table (OpenCC changes it only inside phrases): both are listed.
_AFFIRMATIVE = tuple(fold(w) for w in (
    "已打", "已回访", "已联系", "已完成", "已处理", "已回复", "已回覆", "已提醒", "已通知", "已致电", "已电话",
    "已沟通", "已跟进", "已解决", "已答复", "已答覆", "已接通", "已发送"))
_AFFIRMATIVE_EXACT = frozenset(fold(v) for v in ("是", "√", "✓", "✔", "y", "yes", "ok", "好", "有", "完成", "已"))
_NEGATIVE = tuple(dict.fromkeys(
    tuple(fold(w) for w in ("未打", "未回访", "未联系", "待定", "待回访", "待联系", "待处理", "待打", "没打", "没回访",
                            "没联系", "没有"))
    + tuple(p + word[1:] for word in _AFFIRMATIVE for p in ("未", "没", "待"))
))
_NEGATIVE_EXACT = frozenset(fold(v) for v in ("否", "×", "✗", "✘", "x", "无", "n", "no", "-", "--", "—", "——", "未", "没"))
_MARK_STRIP = re.compile(r"[\s,，。.;；:：!！、()（）\[\]【】]+")


def done_mark(text: str) -> DoneMark | None:
    """What a text in a done column says: DoneMark (done, moment unknown) or None (not done)."""
    key = fold(text)
    bare = _MARK_STRIP.sub("", key)
    if bare in _NEGATIVE_EXACT or not bare.strip("-—"):
        return None
    if bare.startswith(_NEGATIVE):
        return None
    if bare in _AFFIRMATIVE_EXACT or bare.startswith(_AFFIRMATIVE):
        return DoneMark(text.strip())
    return DoneMark(text.strip()[:200], unclear=True)


def done_converter(type_name: str, epoch1904: bool = False) -> Converter:
    """A done column's cell (convention 4): a date/datetime, a date-led text, or a mark.

    Date-only values stay ``dt.date`` so quiet hours never judge them; a negative mark gives None.
    """
    as_date = True

    def convert(value: Any) -> Any:
        if isinstance(value, (dt.date, dt.datetime)):
            return value.replace(tzinfo=None) if isinstance(value, dt.datetime) and value.tzinfo else value
        if isinstance(value, bool):  # a checkbox (Google Sheets, WPS)
            return DoneMark("√") if value else None
        if isinstance(value, dt.time):  # a time of day without its day: done, moment unknown
            return DoneMark(value.strftime("%H:%M"))
        if isinstance(value, str):
            _check_error(value)
            value = value[:_LONGEST_MARK]  # a 30 MB cell is judged by its start
            text = unicodedata.normalize("NFKC", value).strip()
            led = date_prefix(text, as_date)
            if led is not None:
                out, _rest = led
                if type_name == "date" and isinstance(out, dt.datetime):
                    return out.date()
                return out
            if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
                return read_datetime(text, epoch1904)
            if _TIME_TEXT.match(text):
                return DoneMark(text)
            return done_mark(value)
        if type_name == "date":
            return read_date(value, epoch1904)
        return read_datetime(value, epoch1904)

    return convert


_REFUSALS = tuple(fold(w) for w in ("不留", "拒留", "未留", "客户拒绝", "拒绝提供", "没留", "拒绝", "不愿留", "不提供", "未提供"))
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_PHONE_RUN = re.compile(r"\+?\d[\d\s\-–—()（）]*\d")


def _phone_digits(text: str) -> str | None:
    digits = _PHONE_NOISE.sub("", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix):]
    if len(digits) == 13 and digits.startswith("86") and _MOBILE.match(digits[2:]):
        digits = digits[2:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    return None


def to_phone(value: Any) -> Any:
    """A phone number as digits (mobile 1[3-9]xxxxxxxxx or a landline with its area code), or DECLINED.

    Words around one phone-shaped number are dropped (``13912340018 微信同号``); a refusal such as
    ``不留`` or ``拒绝提供`` means the customer declined to leave a number.
    """
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
    text = str(value)
    if len(text) > _LONGEST_PHONE_CELL:
        raise ValueError("不是有效的手机号或带区号的固话")
    text = unicodedata.normalize("NFKC", text).strip()
    whole = _phone_digits(text)
    if whole is not None:
        return whole
    if not any(c.isdigit() for c in text):
        key = fold(text)
        if key in ("无", "没有", "/") or any(word in key for word in _REFUSALS):
            return DECLINED
        raise ValueError("不是有效的手机号或带区号的固话")
    for run in _PHONE_RUN.findall(text):
        number = _phone_digits(run)
        if number is not None:
            return number
    mobile = _MOBILE_IN_TEXT.search(text)  # two numbers typed with only a space between them
    if mobile:
        return mobile.group()
    raise ValueError("不是有效的手机号或带区号的固话")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    _check_error(value)
    key = fold(str(value)[:50])
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
    text = str(value)[:50].strip()
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


_NEGATION = "未没不非"


def find_choice(key: str, choices: Mapping[str, str]) -> str | None:
    """The choice a folded text contains (``来店(自然进店)`` -> 来店): the longest spelling wins; one
    directly preceded by a negation (未/没/不/非) does not count. Single ASCII letters (intent levels)
    count only when they are the text's only letter."""
    letters = [c for c in key if c.isascii() and c.isalpha()]
    best: tuple[int, int, str] | None = None
    for order, (spelling, canonical) in enumerate(choices.items()):  # equal lengths: the first choice wins
        if not spelling:
            continue
        if len(spelling) == 1 and spelling.isascii():
            if letters == [spelling]:
                candidate = (1, -order, canonical)
                best = candidate if best is None or candidate > best else best
            continue
        start = key.find(spelling)
        while start >= 0:
            if start == 0 or key[start - 1] not in _NEGATION:
                candidate = (len(spelling), -order, canonical)
                if best is None or candidate > best:
                    best = candidate
                break
            start = key.find(spelling, start + 1)
    return best[2] if best else None


def choice_converter(choices: Mapping[str, str]) -> Converter:
    """``choices`` maps folded spellings to the canonical value; extra words around one are allowed."""

    def convert(value: Any) -> str:
        key = fold(to_text(value)[:1000])
        found = choices.get(key)
        if found is None:
            found = find_choice(key, choices)
        if found is None:
            allowed = "、".join(dict.fromkeys(choices.values()))
            raise ValueError(f"应为 {allowed} 之一")
        return found

    return convert


_OUTCOMES = tuple(fold(w) for w in ("已成交", "成交", "已订车", "订车", "已提车", "提车", "战败", "已战败", "放弃",
                                    "无效", "已购他牌", "购他牌", "已下定", "下定"))
_NOT_YET = tuple(fold(w) for w in ("未", "没", "不", "非", "考虑", "准备", "打算", "想", "待", "尚未"))


def has_outcome(text: str) -> bool:
    """True when a text reports a closed visitor (``已订车``, ``战败``), not a negated or intended one."""
    key = fold(text)[:5000]
    for word in _OUTCOMES:
        start = key.find(word)
        while start >= 0:
            before = key[:start]
            if not before.endswith(_NOT_YET):
                return True
            start = key.find(word, start + 1)
    return False


def converter_for(type_name: str, *, choices: Mapping[str, str] | None = None, epoch1904: bool = False,
                  done: bool = False) -> Converter:
    """The converter of one schema type. Results for repeated cell values are memoised by the caller.

    Date converters may return a ``Yearless`` (``11-20``), which the reader dates from the row; the
    phone converter may return ``DECLINED``; a done column's converter may return a ``DoneMark`` or None.
    """
    if done and type_name in ("datetime", "date"):
        return done_converter(type_name, epoch1904)
    if type_name == "datetime":
        return lambda v: read_datetime(v, epoch1904)
    if type_name == "date":
        return lambda v: read_date(v, epoch1904)
    if type_name == "choice":
        return choice_converter(choices or {})
    simple: dict[str, Converter] = {
        "phone": to_phone, "bool": to_bool, "int": to_int, "text": to_text, "staff": to_text, "email": to_email,
    }
    try:
        return simple[type_name]
    except KeyError:
        raise ValueError(f"unknown type {type_name!r}") from None
