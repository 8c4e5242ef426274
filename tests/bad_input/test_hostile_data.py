"""Data that would hang, fill the memory, or be read silently wrong: each is refused at once with a sentence,
read within bounds, or read right and reported."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from engine import store
from engine.checkup import dataset_row, run_checkup
from engine.data import formats
from engine.data.doctor import apply_fix, examine
from engine.data.errors import DataError
from engine.data.formats import read_records
from engine.data.preview import describe_file


def test_a_pipe_named_data_csv_is_refused_at_once_and_never_stays_checking(tmp_path, tunewright_home):
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    db = store.open_db(store.database_path(tunewright_home))
    started = time.monotonic()
    outcome = run_checkup(db, tunewright_home, fifo, "classify")
    assert time.monotonic() - started < 2
    assert outcome["error"] == ("data.csv is not an ordinary file (it is a pipe, a device or a socket), so it cannot "
                                "be read as data; save the data in a file and choose that.")
    row = dataset_row(db, fifo.resolve())
    assert row is None or json.loads(row["metadata"])["status"] != "checking"
    with pytest.raises(DataError, match="not an ordinary file"):
        describe_file(fifo)


def test_a_device_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(DataError, match="^zero is not an ordinary file"):
        read_records("/dev/zero")
    assert time.monotonic() - started < 1


def test_the_whole_disk_as_a_folder_of_texts_is_refused_fast(tmp_path):
    started = time.monotonic()
    for folder in ("/", Path.home()):
        with pytest.raises(DataError, match="is a whole disk or your home folder, not a folder of texts"):
            examine(folder, "classify")
    assert time.monotonic() - started < 1


def test_a_folder_too_big_to_be_texts_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_FOLDER_ENTRIES", 50)
    for number in range(60):
        (tmp_path / "greet").mkdir(exist_ok=True)
        (tmp_path / "greet" / f"{number}.txt").write_text("hello")
    with pytest.raises(DataError, match="holds more than 50 files and folders"):
        read_records(tmp_path)


def test_utf8_rows_then_windows_1252_rows_are_each_read_as_what_they_are(tmp_path):
    path = tmp_path / "drinks.csv"
    utf8 = "".join(f"café crème {i},drink\n" for i in range(30)).encode("utf-8")
    windows = "".join(f"thé glacé {i},drink\n" for i in range(30)).encode("cp1252")
    path.write_bytes(b"text,label\n" + utf8 + windows)
    rows = read_records(path)
    assert [row["text"] for row in rows[:1] + rows[-1:]] == ["café crème 0", "thé glacé 29"]
    assert not any("Ã" in row["text"] for row in rows)
    report = examine(path, "classify")
    finding = report.finding("doctor.mixed_encoding")
    assert finding and finding.count == 30 and finding.severity == "warning"
    assert finding.message.startswith("30 lines of this file are in the Windows-1252 encoding and the rest in UTF-8")


def test_a_header_after_64_kb_of_blank_lines_is_the_header(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"\n" * (70 * 1024) + b"text,label\nhello there,greet\nbye now,leave\nhi,greet\n")
    rows = read_records(path)
    assert rows[0] == {"text": "hello there", "label": "greet"} and len(rows) == 3
    assert "label" not in examine(path, "classify").classes


@pytest.mark.parametrize("rows, label", [(20_000, lambda i: f"category {i // 2}"), (200, lambda i: f"ID-{i:05d}")],
                         ids=["10000_categories_of_2", "200_unique_ids"])
def test_names_or_ids_as_labels_are_flagged_as_not_categories(tmp_path, rows, label):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\n" + "".join(f"text {i},{label(i)}\n" for i in range(rows)), encoding="utf-8")
    report = examine(path, "classify")
    finding = report.finding("doctor.not_categories")
    assert finding and finding.severity == "warning", [f.message for f in report.findings]
    assert "look like names or ids, not categories" in finding.message
    assert report.finding("doctor.all_good") is None


def _peak_memory(command: list[str], env: dict) -> tuple[subprocess.CompletedProcess, int]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    out, err = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, out, err), peak


def test_the_doctor_reads_a_50_mb_text_among_80_rows_within_memory(tmp_path, tunewright_home):
    path = tmp_path / "with_a_book.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for i in range(80):
            file.write(json.dumps({"text": f"short text {i}", "label": "ab"[i % 2]}) + "\n")
        file.write(json.dumps({"text": "word " * (10 * 2**20), "label": "a"}) + "\n")
    env = {**os.environ, "TUNEWRIGHT_HOME": str(tunewright_home)}
    result, peak = _peak_memory([sys.executable, "-m", "engine", "doctor", str(path), "--task", "classify",
                                 "--model", "demo:minilm", "--max-length", "128", "--json"], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["report"]
    too_long = next(f for f in report["findings"] if f["code"].startswith("doctor.too_long"))
    assert too_long["count"] == 1 and too_long["values"]["tokens"] > 5_000_000  # the whole book is counted
    assert peak < 2.5 * 2**30, f"the doctor took {peak / 2**30:.1f} GB"


def test_a_workbook_with_too_many_texts_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["text", "label"])
    path = tmp_path / "texts.xlsx"
    book.save(path)
    # Excel keeps every distinct text of a workbook in one shared list, which openpyxl reads whole
    strings = "".join(f"<si><t>a distinct text number {i}</t></si>" for i in range(20_000))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", f'<sst count="20000" uniqueCount="20000">{strings}</sst>')
    monkeypatch.setattr(formats, "MAX_XLSX_SHARED_STRINGS", 100_000)  # the real bound is 256 MB
    with pytest.raises(DataError, match=r"^texts\.xlsx holds 1 MB of texts, more than can be read here"):
        describe_file(path)


def test_cleaned_copies_are_private_even_when_the_home_already_existed(tmp_path, tunewright_home):
    datasets = tunewright_home / "datasets"
    datasets.mkdir(parents=True, mode=0o755)
    os.chmod(datasets, 0o755)
    path = tmp_path / "data.csv"
    path.write_text("text,label\nhello,greet\nhello,greet\nbye,leave\n", encoding="utf-8")
    report = examine(path, "classify")
    old_umask = os.umask(0o022)
    try:
        cleaned = apply_fix(report, "drop_duplicates", datasets)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(datasets.stat().st_mode) == 0o700
    assert stat.S_IMODE(cleaned.path.stat().st_mode) == 0o600
    assert cleaned.rows == 2


def test_a_lone_half_of_a_character_pair_becomes_a_replacement_character(tmp_path):
    path = tmp_path / "halves.jsonl"
    path.write_text('{"text": "caf\\ud800e \\ud83d\\ude00", "label": "x"}\n{"text": "ok", "label": "\\udfff"}\n', encoding="utf-8")
    rows = read_records(path)
    assert rows[0]["text"] == "caf\ufffde \U0001f600" and rows[1]["label"] == "\ufffd"
    assert json.dumps(rows, ensure_ascii=False).encode("utf-8")  # what storing or tokenizing them needs
