"""`run.py doctor` catches each set-up mistake, exits 1, and says the fix in the configured language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.config import parse_config
from scripts.doctor import doctor
from tests.helpers import NOW, VISITOR_HEADERS, visitor, write_xlsx

STAFF_SHEET = [["姓名", "邮箱", "角色", "上级"], ["李娜", "lina@example.com", "销售经理", None],
               ["张伟", "zhangwei@example.com", "销售顾问", "李娜"]]


class QuietSender:
    """Stands in for SmtpSender: connects to nothing, always fine."""

    def __init__(self, settings, password, retries=0):
        self.settings = settings

    def check(self):
        pass

    def close(self):
        pass


def good_visit(**values):
    base = dict(登记时间="2026-11-26 10:00", 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678,
                信息来源="网络", 销售顾问="张伟", 是否建卡="是")
    return visitor(**{**base, **values})


def setup(tmp_path: Path, *, sheets=None, extra=None, language="zh-CN"):
    sheets = sheets or {"来店": [VISITOR_HEADERS, good_visit()], "员工": STAFF_SHEET}
    write_xlsx(tmp_path / "店.xlsx", sheets)
    document = {"language": language, "sources": [{"name": "店", "path": "店.xlsx"}], "state": "state.sqlite3",
                **(extra or {})}
    return parse_config(document, tmp_path / "huifang.yaml", tmp_path)


def run_doctor(config, **kw):
    lines: list[str] = []
    code = doctor(config, NOW, out=lines.append, smtp_factory=QuietSender, **kw)
    return code, "\n".join(lines)


def test_a_sound_set_up_is_all_good(tmp_path):
    code, text = run_doctor(setup(tmp_path))
    assert code == 0, text
    assert text.endswith("一切正常。") and "✗" not in text


MISSING_SOURCE = [h for h in VISITOR_HEADERS if h != "信息来源"] + ["来源说明"]

CASES = [
    ("missing required column",
     dict(sheets={"来店": [MISSING_SOURCE, good_visit()[:5] + good_visit()[6:] + ["网络"]], "员工": STAFF_SHEET}),
     "缺少必填列 info_source（信息来源）", "最接近的表头：来源说明"),
    ("escalate_to names a role nobody has", dict(extra={"escalation": {"escalate_to": "总经理"}}),
     "没有人的角色是 总经理", "在员工名单中给某人设角色 总经理"),
    ("staff without an email",
     dict(sheets={"来店": [VISITOR_HEADERS, good_visit()], "员工": STAFF_SHEET + [["王芳", None, "销售顾问", "李娜"]]}),
     "员工没有可用的邮箱：王芳", "在员工名单中为 王芳 填写邮箱"),
    ("staff with a placeholder email from init",
     dict(sheets={"来店": [VISITOR_HEADERS, good_visit()]},
          extra={"staff": [{"name": "张伟", "email": "todo-1@example.invalid"}]}),
     "员工没有可用的邮箱：张伟", "填写邮箱"),
    ("supervisor not in the staff list",
     dict(sheets={"来店": [VISITOR_HEADERS, good_visit()], "员工": STAFF_SHEET + [["王芳", "wf@example.com", "销售顾问", "老板"]]}),
     "王芳 的上级 老板 不在员工名单中", "把 老板 加入员工名单"),
    ("a sheet that looks like a log but matches nothing",
     dict(sheets={"来店": [VISITOR_HEADERS, good_visit()], "员工": STAFF_SHEET,
                  "回访": [["客户姓名", "联系电话", "回访时间", "回访方式"], ["陈先生", 13812345678, "2026-11-26 10:00", "电话"]]}),
     "工作表 回访：像是 callback_log，但未能识别", "sources.tables"),
    ("an SMTP login over a plain connection",
     dict(extra={"mail": {"smtp": {"host": "mail.example.com", "port": 25, "security": "none",
                                   "username": "me@example.com"}}}),
     "明文发送", "starttls"),
    ("no staff at all", dict(sheets={"来店": [VISITOR_HEADERS, good_visit()]}), "员工：没有", "添加员工名单"),
]


@pytest.mark.parametrize("why, kw, found, fix", CASES, ids=[c[0] for c in CASES])
def test_each_set_up_mistake_exits_1_with_its_fix(tmp_path, why, kw, found, fix):
    code, text = run_doctor(setup(tmp_path, **kw))
    assert code == 1, text
    problems, _, fixes = text.partition("需要修改：")
    assert found in problems and fix in fixes, text


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_password_file_or_config_others_can_read_is_a_problem(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("hunter2", encoding="utf-8")
    secret.chmod(0o644)
    (tmp_path / "huifang.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "huifang.yaml").chmod(0o644)
    smtp = {"host": "mail.example.com", "port": 587, "security": "starttls", "username": "me@example.com",
            "password_file": "smtp-password"}
    code, text = run_doctor(setup(tmp_path, extra={"mail": {"smtp": smtp}}))
    assert code == 1
    assert f"chmod 600 {secret}" in text and f"chmod 600 {tmp_path / 'huifang.yaml'}" in text
    assert "hunter2" not in text
    secret.chmod(0o600)
    (tmp_path / "huifang.yaml").chmod(0o600)
    code, text = run_doctor(setup(tmp_path, extra={"mail": {"smtp": smtp}}))
    assert code == 0, text


def test_a_state_file_that_cannot_be_opened_is_a_problem(tmp_path):
    (tmp_path / "state.sqlite3").write_bytes(b"this is not a database" * 100)
    code, text = run_doctor(setup(tmp_path))
    assert code == 1
    assert "状态文件：" in text and "无法打开" in text and "把它移走" in text


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_state_folder_that_cannot_be_written_is_a_problem(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, text = run_doctor(setup(tmp_path, extra={"state": "locked/sub/state.sqlite3"}))
    assert code == 1 and "无法创建" in text


def test_doctor_speaks_the_configured_language(tmp_path):
    code, text = run_doctor(setup(tmp_path, extra={"escalation": {"escalate_to": "总经理"}}, language="en"))
    assert code == 1
    assert "escalation.escalate_to: nobody has the role 总经理" in text and "To fix:" in text
    assert "需要修改" not in text
