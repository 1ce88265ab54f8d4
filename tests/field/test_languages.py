"""The field kit speaks Arabic: its output follows LANG (or LC_ALL, LC_MESSAGES), and a choice
saved with `rushes field login --language` wins over them. That every message is marked and
translated is checked with the pages' catalog (tests/web/test_languages.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from rushes.field.home import Login
from tests.conftest import RUSHES
from tests.field.test_sync import PASSPHRASE, Kit
from tests.web.test_status import free_port


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
    assert "لا ملفات؛ المتبقي: لا مدخلات بيان، لا نسخ معاينة" in status.stdout
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


def test_counts_agree_with_their_nouns_in_arabic(tmp_path: Path) -> None:
    """Arabic has six forms for a counted noun: one file is ملف واحد, not "1 ملفات"."""
    home = Kit(tmp_path / "kit").home.path
    _field(home, "ar_SY.UTF-8", "passphrase", "--passphrase-stdin", stdin=PASSPHRASE)
    card = tmp_path / "card"
    card.mkdir()
    (card / "shots.txt").write_text("roof, then the market\n")
    imported = _field(home, "ar_SY.UTF-8", "import", str(card), "--source", "card 3")
    assert "card 3: ملف جديد واحد، لا ملفات دون تغيير" in imported.stdout, imported.stderr
    status = _field(home, "ar_SY.UTF-8", "status")
    assert "ملف واحد؛ المتبقي: مدخل بيان واحد، لا نسخ معاينة، ملف أصلي واحد" in status.stdout
    assert "على هذا الحاسوب وحده: ملف أصلي واحد (0.0 ميغابايت) لم تؤكّده القاعدة" in status.stdout
    english = _field(home, "C.UTF-8", "status")
    assert "1 file; left: 1 manifest entry, 0 proxies, 1 original, 0 refused" in english.stdout
    for many in ("2", "3", "11"):
        (card / f"take{many}.txt").write_text(many)
    _field(home, "C.UTF-8", "import", str(card), "--source", "card 3")
    status = _field(home, "ar_SY.UTF-8", "status")
    assert "4 ملفات؛ المتبقي: 4 مدخلات بيان" in status.stdout, status.stdout


def test_sync_waits_whole_seconds_and_says_them_in_arabic(tmp_path: Path) -> None:
    """The first retry comes after one second (ثانية واحدة), never after 0, and 3-10 seconds
    are ثوانٍ."""
    kit = Kit(tmp_path / "kit")
    kit.home.create(PASSPHRASE, 600)
    kit.home.save_login(Login(f"http://127.0.0.1:{free_port()}", "film", "rsh_nobody"))
    env = {k: v for k, v in kit.env.items() if not k.startswith(("LC_", "LANG"))}
    sending = subprocess.Popen(
        [*RUSHES, "field", "sync"],
        env={**env, "LANG": "ar_SY.UTF-8"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    said: list[str] = []
    try:
        assert sending.stderr is not None
        deadline = time.monotonic() + 60
        while len(said) < 3 and time.monotonic() < deadline:
            line = sending.stderr.readline()
            if "محاولة جديدة" in line:
                said.append(line.split("؛")[-1].strip())
    finally:
        sending.kill()
        sending.communicate()
    assert said[0] == "محاولة جديدة بعد ثانية واحدة", said
    allowed = {"محاولة جديدة بعد ثانية واحدة", "محاولة جديدة بعد ثانيتين"}
    allowed |= {f"محاولة جديدة بعد {n} ثوانٍ" for n in range(3, 5)}
    assert set(said) <= allowed, said


def test_wipe_all_asks_in_arabic_and_takes_an_arabic_yes(tmp_path: Path) -> None:
    for n, yes in enumerate(("نعم", "ن")):
        home = Kit(tmp_path / f"kit{n}").home.path
        _field(home, "ar_SY.UTF-8", "passphrase", "--passphrase-stdin", stdin=PASSPHRASE)
        _field(home, "ar_SY.UTF-8", "lock")
        kept = _field(home, "ar_SY.UTF-8", "wipe", "--all", stdin="لا\n")
        assert kept.returncode == 1, kept.stderr
        assert "أتزيل عُدّة الميدان كلها من هذا الحاسوب؟ [نعم/لا]" in kept.stderr
        assert "لم يُزل شيء: تبقى عُدّة الميدان على هذا الحاسوب" in kept.stderr
        assert (home / "lock.json").exists()
        gone = _field(home, "ar_SY.UTF-8", "wipe", "--all", stdin=f" {yes}\n")
        assert gone.returncode == 0, gone.stderr
        assert "أُزيل مجلد عُدّة الميدان" in gone.stdout and not home.exists()
