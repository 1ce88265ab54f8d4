"""The field kit speaks Arabic: its output follows LANG (or LC_ALL, LC_MESSAGES), and a choice
saved with `rushes field login --language` wins over them. That every message is marked and
translated is checked with the pages' catalog (tests/web/test_languages.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import RUSHES


def _field(home: Path, lang: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update({"RUSHES_FIELD_DIR": str(home), "LANG": lang, "COLUMNS": "200"})
    return subprocess.run(
        [*RUSHES, "field", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_field_kit_follows_lang_and_the_saved_choice(tmp_path: Path) -> None:
    home = tmp_path / "kit"
    arabic = _field(home, "ar_SY.UTF-8", "notes")
    assert arabic.returncode == 1
    assert "لم تسجّل الدخول: شغّل `rushes field login URL --project SLUG`" in arabic.stderr
    english = _field(home, "C.UTF-8", "notes")
    assert "not logged in: run `rushes field login URL --project SLUG`" in english.stderr

    chosen = _field(home, "en_GB.UTF-8", "login", "--language", "ar")
    assert chosen.returncode == 0, chosen.stderr
    assert "صارت لغة عُدّة الميدان العربية من الآن" in chosen.stdout
    status = _field(home, "en_GB.UTF-8", "status")  # the saved choice wins over LANG
    assert status.returncode == 0, status.stderr
    assert "المصدر" in status.stdout and "نسخة المعاينة" in status.stdout
    assert "0 ملفات؛ المتبقي: 0 من مدخلات البيان" in status.stdout
    refused = _field(home, "en_GB.UTF-8", "login", "http://127.0.0.1:9", "--token-stdin")
    assert refused.returncode == 2 and "أعطِ عنوان القاعدة" in refused.stderr

    _field(home, "ar_SY.UTF-8", "login", "--language", "en")
    back = _field(home, "ar_SY.UTF-8", "status")
    assert "0 files; left: 0 manifest entries" in back.stdout
