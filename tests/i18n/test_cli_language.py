"""The orchestration CLI speaks the user's locale: help and human output in Chinese
for ``zh_CN.UTF-8``/``zh_Hans``; ``--json`` and exit statuses unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from orchestration.cli import language_from_environment
from tests.fakes import orchestration_data as data
from tests.orchestration.cli_helpers import run

LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture
def locale(monkeypatch):
    def use(**values):
        for name in LOCALE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return use


@pytest.mark.parametrize(
    "environ, language",
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh-hans"),
        ({"LC_ALL": "zh_Hans"}, "zh-hans"),
        ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh-hans"),
        ({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "en"),  # LANGUAGE is ignored under C
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins over LANG
        ({"LANG": "zh_TW.UTF-8"}, "en"),  # Traditional Chinese is not translated
        ({}, "en"),
    ],
)
def test_it_reads_the_language_like_gettext(environ, language):
    assert language_from_environment(environ) == language


def test_a_job_prints_chinese_labels_for_zh_cn(fake_orchestration, locale):
    locale(LANG="zh_CN.UTF-8")
    result = run("job", data.JOB_OK)
    assert result.code == 0, result.text
    for label in ["任务概要：", "工作流 ID:", "提示词分类", "最近事件：", "扫描：", "CSAM 分数："]:
        assert label in result.out, result.out
    assert "Job Summary" not in result.out


def test_json_stays_english_and_identical_whatever_the_locale(fake_orchestration, locale):
    locale(LANG="en_US.UTF-8")
    english = run("job", data.JOB_OK, "--raw")
    locale(LANG="zh_CN.UTF-8")
    chinese = run("job", data.JOB_OK, "--raw")
    assert (english.code, english.out) == (chinese.code, chinese.out)
    json.loads(chinese.out)


def test_exit_statuses_do_not_change_with_the_locale(fake_orchestration, locale):
    locale(LANG="zh_CN.UTF-8")
    assert run("job").code == 2  # usage
    assert run("job", data.JOB_GONE).code in {0, 1}
    locale(LANG="C.UTF-8")
    assert run("job").code == 2


def test_manage_py_with_lang_zh_cn_prints_chinese_help_and_labels(fake_orchestration):
    """The command line itself, as a user types it: ``LANG=zh_CN.UTF-8 manage.py ...``."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES and k != "DATABASE_URL"}
    env.update(
        LANG="zh_CN.UTF-8",
        DEBUG="true",
        # the real settings: tests/settings.py pins the suite's own locale to C.UTF-8
        DJANGO_SETTINGS_MODULE="civitrack.settings",
        CIVITAI_API_URL=settings.CIVITAI_API_URL,
        CIVITAI_API_TOKEN=settings.CIVITAI_API_TOKEN,
        HASH_ALLOW_PRIVATE_URLS="true",
    )
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py"), "orchestration"]
    job = subprocess.run(
        [*manage, "job", data.JOB_OK], env=env, capture_output=True, text=True, timeout=60
    )
    assert job.returncode == 0, job.stderr
    assert "任务概要：" in job.stdout and "扫描：" in job.stdout
    helped = subprocess.run(
        [*manage, "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "查询 Civitai Orchestration 的工作流" in helped.stdout
