"""The field kit speaks Arabic: its output follows LANG (or LC_ALL, LC_MESSAGES), and a choice
saved with `rushes field login --language` wins over them. That every message is marked and
translated is checked with the pages' catalog (tests/web/test_languages.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import RUSHES
from tests.field.test_sync import PASSPHRASE, Kit


def _field(home: Path, lang: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update({"RUSHES_FIELD_DIR": str(home), "LANG": lang, "COLUMNS": "200"})
    return subprocess.run(
        [*RUSHES, "field", *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_the_field_kit_follows_lang_and_the_saved_choice(tmp_path: Path) -> None:
    home = Kit(tmp_path / "kit").home.path  # locked after the test
    arabic = _field(home, "ar_SY.UTF-8", "notes")
    assert arabic.returncode == 1
    assert "لم تسجّل الدخول: شغّل `rushes field login URL --project SLUG`" in arabic.stderr
    english = _field(home, "C.UTF-8", "notes")
    assert "not logged in: run `rushes field login URL --project SLUG`" in english.stderr

    chosen = _field(home, "en_GB.UTF-8", "login", "--language", "ar")
    assert chosen.returncode == 0, chosen.stderr
    assert "صارت لغة عُدّة الميدان العربية من الآن" in chosen.stdout
    sealed = _field(home, "en_GB.UTF-8", "passphrase", "--passphrase-stdin", stdin=PASSPHRASE)
    assert "صارت عُدّة الميدان مختومة بعبارة المرور الجديدة" in sealed.stdout, sealed.stderr
    status = _field(home, "en_GB.UTF-8", "status")  # the saved choice wins over LANG
    assert status.returncode == 0, status.stderr
    assert "المصدر" in status.stdout and "نسخة المعاينة" in status.stdout
    assert "0 ملفات؛ المتبقي: 0 من مدخلات البيان" in status.stdout
    helped = _field(home, "en_GB.UTF-8", "sync", "--help").stdout  # help too, before any run
    assert "أرسل البيانات، ثم نسخ المعاينة" in helped and "جولة واحدة" in helped
    assert "الاستعمال:" in helped and "الخيارات" in helped and "Usage:" not in helped  # Click's
    mistaken = _field(home, "en_GB.UTF-8", "sync", "--onse")
    assert mistaken.returncode == 2 and "خطأ: لا يوجد خيار '--onse'." in mistaken.stderr
    assert "هل تقصد '--once'؟" in mistaken.stderr and "للمساعدة" in mistaken.stderr
    nowhere = _field(home, "en_GB.UTF-8", "import", "/nonexistent/card")
    assert nowhere.returncode == 2 and "المسار '/nonexistent/card' غير موجود" in nowhere.stderr
    refused = _field(home, "en_GB.UTF-8", "login", "http://127.0.0.1:9", "--token-stdin")
    assert refused.returncode == 2 and "أعطِ عنوان القاعدة" in refused.stderr

    _field(home, "ar_SY.UTF-8", "login", "--language", "en")
    back = _field(home, "ar_SY.UTF-8", "status")
    assert "0 files; left: 0 manifest entries" in back.stdout
