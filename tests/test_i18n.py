"""Languages as catalogues: Babel-read .po files, generated Traditional catalogues, script and words per language."""

from __future__ import annotations

import re
from dataclasses import replace

import opencc
import pytest

from scripts import catalogues
from scripts.config import StaffMember, load_config
from scripts.demo import DEMO_CONFIG
from scripts.errors import ConfigError
from scripts.i18n import LANGUAGES, babel_locale, po_path, script_converter, translation
from scripts.messages import Message
from scripts.render import Renderer
from tests.golden_cases import golden_messages

BASE = load_config(DEMO_CONFIG)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
TO_SIMPLIFIED = opencc.OpenCC("t2s")
TRADITIONAL = {"zh-TW": opencc.OpenCC("s2twp"), "zh-HK": opencc.OpenCC("s2hk")}
# The core's own texts (converted to the reader's script at render time) and the core's weekday digit:
# never counted as data.
CORE_TEXT = {"message", "error", "detail", "weekday"}


def renderer(language: str) -> Renderer:
    return Renderer(replace(BASE, language=language))


def data_strings(value, key=None) -> set[str]:
    """Every string the sheet or the config put into a message (names, sources, cells): shown as typed."""
    if isinstance(value, dict):
        return set().union(*(data_strings(v, k) for k, v in value.items())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(data_strings(v, key) for v in value)) if value else set()
    return {value} if isinstance(value, str) and value and key not in CORE_TEXT else set()


def without_data(text: str, message: Message) -> str:
    for value in sorted(data_strings(dict(message.context)) | {message.recipient.name}, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def visible(html: str) -> str:
    return re.sub(r"&\w+;|&#\d+;", " ", re.sub(r"<[^>]*>", " ", html))


def all_cases():
    return [(language, stem, message, parts) for language in LANGUAGES
            for stem, message, parts in golden_messages(language)]


CASES = all_cases()


def test_each_language_has_its_cldr_locale_and_an_unknown_one_is_a_config_error():
    assert [babel_locale(lang) for lang in LANGUAGES] == ["zh_Hans_CN", "zh_Hant_TW", "zh_Hant_HK", "en"]
    with pytest.raises(ConfigError, match="fr"):
        translation("fr")
    with pytest.raises(ConfigError, match="zh-SG"):
        renderer("zh-SG")


@pytest.mark.parametrize("language, expected", [
    ("zh-CN", "%(name)s，早上好！"), ("zh-TW", "%(name)s，早上好！"), ("en", "Good morning %(name)s"),
    ("zh-CN", "%(date)s（%(weekday)s）团队日报"), ("zh-TW", "%(date)s（%(weekday)s）團隊日報"),
    ("zh-HK", "%(date)s（%(weekday)s）團隊日報"),
])
def test_a_catalogue_translates_the_english_id(language, expected):
    msgid = "Good morning %(name)s" if "name" in expected else "Team digest %(date)s"
    assert translation(language).gettext(msgid) == expected


@pytest.mark.parametrize("language, one, two", [
    ("en", "1 day", "2 days"), ("zh-CN", "1 天", "2 天"), ("zh-TW", "1 天", "2 天"),
])
def test_plurals_follow_the_language(language, one, two):
    t = translation(language)
    assert t.ngettext("%(num)d day", "%(num)d days", 1) % {"num": 1} == one
    assert t.ngettext("%(num)d day", "%(num)d days", 2) % {"num": 2} == two


def test_the_translations_are_cached_per_language_and_domain():
    assert translation("zh-TW") is translation("zh-TW")
    assert translation("zh-TW") is not translation("zh-HK")


@pytest.mark.parametrize("language, weekday, long_date", [
    ("zh-CN", "周五", "2026年11月27日星期五"), ("zh-TW", "週五", "2026年11月27日 星期五"),
    ("zh-HK", "週五", "2026年11月27日星期五"), ("en", "Fri", "Friday, November 27, 2026"),
])
def test_weekday_words_and_dates_come_from_cldr(language, weekday, long_date):
    env = renderer(language).text_env
    assert env.from_string("{{ '2026-11-27'|weekday }}").render() == weekday
    assert env.from_string("{{ '2026-11-27'|fmt_date('full') }}").render() == long_date


@pytest.mark.parametrize("language", ["zh-TW", "zh-HK"])
def test_regenerating_a_traditional_catalogue_gives_the_committed_file(language):
    assert catalogues.converted(language) == po_path(language).read_bytes(), "run: python -m scripts.catalogues convert"


@pytest.mark.parametrize("language", ["zh-CN", "zh-TW", "zh-HK"])
def test_every_message_id_in_the_templates_has_a_translation(language):
    assert len(catalogues.extract()) > 100
    assert catalogues.untranslated(language) == []


def test_an_id_added_to_a_template_is_reported_untranslated(tmp_path, monkeypatch):
    (tmp_path / "new.txt").write_text('{{ _("A sentence nobody translated") }}\n', encoding="utf-8")
    monkeypatch.setitem(catalogues.METHODS, "messages", (tmp_path, [("*.txt", catalogues._JINJA)]))
    assert catalogues.untranslated("zh-CN") == ["A sentence nobody translated"]


@pytest.mark.parametrize("language, stem, message, parts",
                         [c for c in CASES if c[0] in TRADITIONAL], ids=lambda v: v if isinstance(v, str) else "")
def test_traditional_output_has_no_simplified_character(language, stem, message, parts):
    for part in parts:
        text = without_data(visible(part) if part.lstrip().startswith("<") else part, message)
        round_trip = TRADITIONAL[language].convert(TO_SIMPLIFIED.convert(text))
        changed = {a for a, b in zip(text, round_trip) if a != b}
        assert len(round_trip) == len(text) and not changed, f"{stem}: {sorted(changed)}"
        assert CJK.search(text)


@pytest.mark.parametrize("stem, message, parts", [c[1:] for c in CASES if c[0] == "zh-CN"],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_simplified_output_has_no_english_word(stem, message, parts):
    for part in parts:
        text = without_data(visible(part) if part.lstrip().startswith("<") else part, message)
        text = re.sub(r"https?://\S+|\S+@\S+|Huifang", " ", text)  # links, addresses and the product's name
        assert re.findall(r"[A-Za-z]{3,}", text) == [], stem


@pytest.mark.parametrize("stem, message, parts", [c[1:] for c in CASES if c[0] == "en"],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_english_output_has_no_chinese_outside_the_data(stem, message, parts):
    for part in parts:
        text = without_data(visible(part) if part.lstrip().startswith("<") else part, message)
        assert CJK.findall(text) == [] and "、" not in text and "：" not in text, stem


@pytest.mark.parametrize("language, shown", [
    ("zh-CN", "协办部门工单已逾期"), ("zh-TW", "協辦部門工單已逾期"), ("zh-HK", "協辦部門工單已逾期"),
    ("en", "department work order overdue since 11-25 18:00"),
])
def test_the_core_message_of_a_finding_is_shown_in_the_readers_script(language, shown):
    subject, text, html = renderer(language).parts(escalation(1, "days"))
    assert shown in text and shown in html
    convert = script_converter("zh-TW")
    assert convert("跟进回访已逾期：应于 11-24（周二）前完成") == "跟進回訪已逾期：應於 11-24（週二）前完成"  # noqa: E501
    assert script_converter("zh-CN")("跟进回访") == script_converter("en")("跟进回访") == "跟进回访"


def escalation(late: int, unit: str, breaches: int = 1) -> Message:
    item = {"rule": "dept_order_overdue", "base_rule": "dept_order", "severity": "error",
            "message": "协办部门工单已逾期", "customer": "龙女士", "phone": "136****5555", "source": "客服",
            "location": "投诉登记!N6", "header": "", "url": None, "assignee": "", "due": "11-25 18:00",
            "due_date": "2026-11-25", "weekday": "三", "late": late, "late_unit": unit, "level": 1}
    context = {"name": "周杰", "date": "2026-11-27", "time": "09:00", "second_level": False,
               "breaches": [item, {**item, "customer": "江女士"}][:breaches]}
    return Message("escalation", StaffMember("周杰", "zhoujie@example.com"), "2026-11-27T09:00", context, ("x",))


@pytest.mark.parametrize("late, unit, breaches, subject, line", [
    (1, "days", 1, "1 deadline breached", "Owner: (none); 1 day late"),
    (2, "days", 2, "2 deadlines breached", "Owner: (none); 2 days late"),
    (1, "hours", 2, "2 deadlines breached", "Owner: (none); 1 hour late"),
    (2, "hours", 1, "1 deadline breached", "Owner: (none); 2 hours late"),
])
def test_english_plurals_in_an_email(late, unit, breaches, subject, line):
    s, text, html = renderer("en").parts(escalation(late, unit, breaches))
    assert s.endswith(subject) and line in text


@pytest.mark.parametrize("language, expected", [("zh-CN", "【超时升级】2 项已超时：龙女士 等"),
                                                ("zh-TW", "【超時升級】2 項已超時：龙女士 等"),
                                                ("zh-HK", "【超時升級】2 項已超時：龙女士 等")])
def test_a_chinese_subject_names_the_first_customer_and_says_there_are_more(language, expected):
    assert renderer(language).parts(escalation(2, "days", 2))[0] == expected


def report_message() -> Message:
    context = {"month": "2026-11", "previous": "2026-10", "file_name": "客訴月報_2026-11.xlsx", "name": "陈静",
               "rows": [{"name": "投诉总数", "en": "Complaints", "now": "3", "before": "1", "arrow": "↑",
                         "change": "+2", "change_zh": "+2"}],
               "changes": [], "oldest": [], "unreadable": [], "timeless": 0, "correction": False,
               "categories": [{"name": "维修质量", "count": 2}], "satisfaction": [{"name": "满意", "count": 1}]}
    return Message("report", StaffMember("陈静", "chenjing@example.com"), "2026-11", context, ("r",))


@pytest.mark.parametrize("language, present, absent", [
    ("zh-CN", "客户投诉情况及处理月报", "Complaint report"),
    ("zh-TW", "客戶投訴情況及處理月報", "客户投诉情况"),
    ("zh-HK", "投訴情況及處理月報", "客户投诉情况"),
    ("en", "Complaint report 2026-11", "月报"),
])
def test_a_kind_with_only_per_language_templates_still_renders(language, present, absent):
    subject, text, html = renderer(language).parts(report_message())
    assert present in subject + text and absent not in subject + text
    assert f'lang="{language}"' in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_stays_escaped_in_every_language(language):
    message = escalation(1, "days")
    evil = {**message.context["breaches"][0], "customer": "<b>x</b>", "message": "<script>1</script>"}
    message = replace(message, context={**message.context, "breaches": [evil]})
    subject, text, html = renderer(language).parts(message)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<script>" not in html
    assert "<b>x</b>" in text


def test_the_simplified_catalogue_holds_exactly_the_ids_the_templates_use():
    assert catalogues.dumps(catalogues.update()) == po_path("zh-CN").read_bytes(), "run: python -m scripts.catalogues update"


def store_digest() -> Message:
    """A whole-store digest with every block main added: teams, member coverage, unassigned rows, new addresses."""
    person = {"name": "赵敏", "overdue": 2, "blanks": 1, "due": 2, "done": 1}
    team = {"leader": "陈静", "people": [person], "overdue_total": 2, "blank_total": 1, "callbacks_due": 2,
            "callbacks_done": 1}
    context = {"name": "李娜", "date": "2026-11-27", "scope": "store", "team": ["赵敏", "孙磊"], "people": [person],
               "visitors_today": 3, "complaints_today": 1, "callbacks_due": 2, "callbacks_done": 1,
               "overdue_total": 2, "blank_total": 1, "overdue_bars": [], "blank_bars": [], "unassigned_total": 4,
               "teams": [team, {**team, "leader": ""}], "complaints_near": [], "repeats": [], "unknown_staff": [],
               "unreadable": [], "failed_sends": [], "failed_runs": [], "new_recipients": ["x@outside.example"],
               "members": {"start": "2026-11-01", "end": "2026-11-27", "total": 2, "called": 1, "rate": 50,
                           "missing": [{"name": "钱先生", "phone": "138****2222", "responsible": "赵敏",
                                        "event": "delivery", "day": "11-20"}]}}
    return Message("digest", StaffMember("李娜", "lina@example.com"), "2026-11-27", context, ("d",))


def unassigned_reminder() -> Message:
    item = {"rule": "missing_required", "base_rule": "missing_required", "severity": "error", "message": "必填项未填写",
            "customer": "龙女士", "phone": "", "source": "客服", "location": "投诉登记!N6", "header": "负责人",
            "url": None, "assignee": "", "due": "", "late": 0, "late_unit": "days"}
    context = {"name": "陈静", "date": "2026-11-27", "call_window": "09:30–11:30", "quiet_hours": "12:00–14:00",
               "overdue": [], "due_soon": [], "blanks": [], "notes": [],
               "unassigned": [item, {**item, "customer": "江女士", "phone": "139****0000"}]}
    return Message("reminder", StaffMember("陈静", "chenjing@example.com"), "2026-11-27", context, ("u",))


@pytest.mark.parametrize("language, subject, lines", [
    ("zh-CN", "【回访日报】2026-11-27 全店：", ["全店日报（2 人）", "陈静 团队：逾期 2 项", "其他人员：逾期 2 项",
                                           "没有填写负责人的：4 项", "会员客户回访", "尚未回访：钱先生 138****2222（赵敏）交车 11-20",
                                           "员工名单中新出现的邮箱"]),
    ("zh-TW", "【回訪日報】2026-11-27 全店：", ["全店日報（2 人）", "陈静 團隊：", "其他人員：", "沒有填寫負責人的：4 項",
                                           "會員客戶回訪", "交車 11-20"]),
    ("zh-HK", "【回訪日報】2026-11-27 全店：", ["全店日報（2 人）", "陈静 團隊：", "其他人員：", "沒有填寫負責人的：4 項",
                                           "會員客户回訪", "交車 11-20"]),  # 客户: Hong Kong's standard form
    ("en", "[Huifang] Store digest 2026-11-27: 2 overdue, 1 cell to fix", [
        "Store digest for 2026-11-27 (2 people)", "Team of 陈静: 2 overdue", "Others: 2 overdue",
        "Rows that name nobody: 4", "Member callbacks (2026-11-01 to 2026-11-27, duty 100%): 1/2 (50%)",
        "Not called back yet: 钱先生 138****2222 (赵敏) delivered 11-20", "x@outside.example"]),
])
def test_a_store_digest_shows_teams_member_coverage_and_new_addresses_in_every_language(language, subject, lines):
    s, text, html = renderer(language).parts(store_digest())
    assert s.startswith(subject)
    for line in lines:
        assert line in text
    assert "per person" not in text.lower() and "各人情况" not in text  # the store digest lists people by team
    assert "x@outside.example" in html and "<b>钱先生</b>" in html


@pytest.mark.parametrize("language, heading, note", [
    ("zh-CN", "【没有填写负责人的】（2 项：请补上负责人，或安排人处理）", "请补上负责人，或安排人处理。"),
    ("zh-TW", "【沒有填寫負責人的】（2 項：請補上負責人，或安排人處理）", "請補上負責人，或安排人處理。"),
    ("zh-HK", "【沒有填寫負責人的】（2 項：請補上負責人，或安排人處理）", "請補上負責人，或安排人處理。"),
    ("en", "ROWS THAT NAME NOBODY (2: add who is responsible, or have someone handle them)",
     "Add who is responsible, or have someone handle them."),
])
def test_rows_that_name_nobody_have_their_section_and_a_phone_link_only_with_a_phone(language, heading, note):
    s, text, html = renderer(language).parts(unassigned_reminder())
    assert heading in text and note in html
    assert html.count('href="tel:') == 1 and 'href="tel:139****0000"' in html


@pytest.mark.parametrize("language", ["zh-TW", "zh-HK"])
@pytest.mark.parametrize("build", [store_digest, unassigned_reminder])
def test_the_new_digest_and_reminder_sections_are_fully_traditional(language, build):
    message = build()
    for part in renderer(language).parts(message):
        text = without_data(visible(part) if part.lstrip().startswith("<") else part, message)
        round_trip = TRADITIONAL[language].convert(TO_SIMPLIFIED.convert(text))
        assert {a for a, b in zip(text, round_trip) if a != b} == set() and len(round_trip) == len(text)
