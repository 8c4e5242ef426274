"""The data doctor finds the problems planted in a file, with the right counts and rows, and its fixes write
cleaned copies (never touching the user's file) that the database knows about."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import store
from engine.checkup import run_checkup
from engine.data.doctor import examine
from engine.data.formats import read_records

ROOT = Path(__file__).resolve().parents[2]


def planted_rows() -> list[dict]:
    """60 clean rows of 3 big classes, plus planted problems (row numbers are 1-based):
    rows 61-63: three repeats of row 1; rows 64-65: row 2's text with another label (a conflict with row 2);
    rows 66-68: empty text, no label, whitespace text; rows 69-71: a class of 3 ('rare'); row 72: a class of
    1 ('lonely')."""
    rows = [{"text": f"message {i} about {topic}", "label": topic} for i, topic in
            zip(range(60), ["billing", "shipping", "account"] * 20)]
    rows += [dict(rows[0]) for _ in range(3)]
    rows += [{"text": rows[1]["text"], "label": "billing"}, {"text": "  " + rows[1]["text"] + " ", "label": "account"}]
    rows += [{"text": "", "label": "billing"}, {"text": "no label here", "label": ""}, {"text": "   ", "label": "account"}]
    rows += [{"text": f"rare thing {i}", "label": "rare"} for i in range(3)]
    rows += [{"text": "a lonely one", "label": "lonely"}]
    return rows


@pytest.fixture
def planted(tmp_path) -> Path:
    path = tmp_path / "planted.csv"
    lines = ["text,label"] + [f'"{row["text"]}",{row["label"]}' for row in planted_rows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_planted_problem_is_found_with_its_count_and_rows(planted):
    report = examine(planted, "classify")
    found = {finding.code: finding for finding in report.findings}
    assert (report.rows, report.usable_rows, report.text_column, report.label_column) == (72, 69, "text", "label")
    assert (found["doctor.duplicates"].count, found["doctor.duplicates"].examples) == (3, [61, 62, 63])
    # row 2 and the two rows that give its text another label (spacing does not make a text different)
    assert (found["doctor.conflicts"].count, found["doctor.conflicts"].examples) == (3, [2, 64, 65])
    assert (found["doctor.empty_rows"].count, found["doctor.empty_rows"].examples) == (3, [66, 67, 68])
    assert found["doctor.rare_classes"].count == 2 and found["doctor.rare_classes"].message.endswith(": 'lonely', 'rare'. Add examples, or merge them into one category.")
    assert (found["doctor.unevaluable_classes"].count, found["doctor.unevaluable_classes"].examples) == (1, [72])
    assert found["doctor.imbalance"].values["ratio"] == 24  # billing: 20 + 3 repeats + row 64; lonely: 1
    assert report.classes["lonely"] == 1 and report.classes["rare"] == 3
    assert "doctor.too_little" not in found  # 69 usable rows
    assert found["doctor.conflicts"].severity == "warning" and found["doctor.conflicts"].fix == "drop_conflicts"
    assert found["doctor.empty_rows"].message == (
        "Rows with no text or no label: 3 of 72. They teach nothing; training leaves them out."
    )


def test_too_little_data_and_a_clean_file(tmp_path):
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps({"text": f"t{i}", "label": "ab"[i % 2]}) + "\n" for i in range(20)))
    found = {finding.code: finding for finding in examine(small, "classify").findings}
    assert found["doctor.too_little"].count == 20 and found["doctor.too_little"].severity == "warning"
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"text": f"text {i}", "label": "ab"[i % 2]}) + "\n" for i in range(100)))
    assert [finding.code for finding in examine(big, "classify").findings] == ["doctor.classes", "doctor.all_good"]


def test_overlap_between_training_and_evaluation_is_counted_and_can_be_removed(planted, tmp_path, tunewright_home):
    evaluation = tmp_path / "eval.jsonl"
    rows = [{"text": "message 5 about account", "label": "account"}, {"text": "brand new", "label": "billing"},
            {"text": "message 7 about shipping", "label": "shipping"}]
    evaluation.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = examine(planted, "classify", eval_path=evaluation)
    overlap = report.finding("doctor.overlap")
    assert (overlap.count, overlap.examples, overlap.values["eval_rows"]) == (2, [1, 3], 3)

    db = store.open_db(store.database_path(tunewright_home))
    outcome = run_checkup(db, tunewright_home, planted, "classify", eval_path=evaluation, fix="drop_overlap")
    cleaned = Path(outcome["cleaned"]["path"])
    assert [row["text"] for row in read_records(cleaned)] == ["brand new"]
    assert Path(outcome["report"]["eval_file"]) == cleaned
    assert not any(f["code"] == "doctor.overlap" for f in outcome["report"]["findings"])


@pytest.mark.parametrize(
    "fix, rows, removed, gone",
    [("drop_duplicates", 69, 3, "doctor.duplicates"), ("drop_empty", 69, 3, "doctor.empty_rows"),
     ("drop_conflicts", 69, 3, "doctor.conflicts"), ("merge_rare", 72, 0, "doctor.unevaluable_classes"),
     ("drop_lonely", 71, 1, "doctor.unevaluable_classes"),
     ("drop_rare", 68, 4, "doctor.rare_classes")],
)
def test_a_fix_writes_a_cleaned_copy_and_leaves_the_file_alone(planted, tunewright_home, fix, rows, removed, gone):
    before = planted.read_bytes()
    db = store.open_db(store.database_path(tunewright_home))
    outcome = run_checkup(db, tunewright_home, planted, "classify", fix=fix)
    cleaned = outcome["cleaned"]
    assert (cleaned["rows"], cleaned["removed"]) == (rows, removed)
    assert Path(cleaned["path"]).parent.parent == tunewright_home / "datasets"
    assert Path(cleaned["path"]).name == "planted.jsonl"  # the user's name, so a run on it is "... on planted"
    assert planted.read_bytes() == before
    assert gone not in {finding["code"] for finding in outcome["report"]["findings"]}
    row = next(db["datasets"].rows_where("path = ?", [cleaned["path"]]))
    metadata = json.loads(row["metadata"])
    assert (row["rows"], metadata["status"], metadata["source"], metadata["fix"]) == (rows, "checked", str(planted), fix)
    if fix == "drop_rare":
        # merged, 'rare' and 'lonely' would make an 'other' of 4, itself too rare: their rows are left out
        labels = [record["label"] for record in read_records(cleaned["path"])]
        assert not {"rare", "lonely", "other"} & set(labels)
        assert "doctor.unevaluable_classes" not in {finding["code"] for finding in outcome["report"]["findings"]}


def test_merging_rare_categories_leaves_nothing_to_merge_and_a_short_name(tmp_path, tunewright_home):
    rows = [(f"message {i} about {topic}", topic) for i, topic in zip(range(60), ["billing", "shipping", "account"] * 20)]
    rows += [(f"rare {name} {i}", name) for name, size in (("refund", 4), ("fraud", 3), ("lonely", 1)) for i in range(size)]
    path = tmp_path / "tickets.csv"
    path.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    db = store.open_db(store.database_path(tunewright_home))
    first = run_checkup(db, tunewright_home, path, "classify")
    rare = next(f for f in first["report"]["findings"] if f["code"] == "doctor.rare_classes")
    assert (rare["fix"], rare["fix_label"]) == ("merge_rare", "Merge rare categories into 'other'")
    merged = run_checkup(db, tunewright_home, path, "classify", fix="merge_rare")
    labels = [record["label"] for record in read_records(merged["cleaned"]["path"])]
    assert labels.count("other") == 8 and merged["cleaned"]["changed"] == 8
    findings = merged["report"]["findings"]
    assert not [f for f in findings if f["code"] in ("doctor.rare_classes", "doctor.unevaluable_classes") or f["fix"] == "merge_rare"]
    assert Path(merged["cleaned"]["path"]).name == "tickets.jsonl"
    # another fix on the copy: still the user's short name, never tickets-merge-rare-...-drop-...
    again = run_checkup(db, tunewright_home, Path(merged["path"]), "classify", fix="drop_duplicates")
    assert Path(again["cleaned"]["path"]).name == "tickets.jsonl" and again["cleaned"]["path"] != merged["cleaned"]["path"]


def test_chat_data_empty_and_repeated_conversations(tmp_path):
    rows = [{"instruction": f"q{i}", "output": f"a{i}"} for i in range(10)]
    rows += [rows[3], {"instruction": "no answer", "output": ""}, {"instruction": "x", "output": ["a list"]}]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows))
    report = examine(path, "chat")
    found = {finding.code: finding for finding in report.findings}
    assert report.layout == "alpaca" and report.usable_rows == 11
    assert (found["doctor.duplicates"].count, found["doctor.duplicates"].examples) == (1, [11])
    assert (found["doctor.empty_rows"].count, found["doctor.empty_rows"].examples) == (1, [12])
    assert (found["doctor.bad_rows"].count, found["doctor.bad_rows"].severity) == (1, "error")
    assert "Row 13 of alpaca.json has a list where the 'output' text should be." in found["doctor.bad_rows"].message
    assert found["doctor.too_little"].count == 11


@pytest.fixture(scope="module")
def minilm_tokenizer():
    from engine.checkup import _tokenizer
    from engine.models.catalog import BUNDLED, package_folder

    if package_folder(BUNDLED["demo:minilm"].package) is None:
        pytest.skip("the bundled MiniLM is not installed")
    return _tokenizer("demo:minilm")


def test_texts_longer_than_the_limit_are_counted_in_tokens(tmp_path, minilm_tokenizer):
    rows = [{"text": "short one", "label": "a"}, {"text": " ".join(["word"] * 40), "label": "b"},
            {"text": " ".join(["word"] * 100), "label": "a"}, {"text": "tiny", "label": "b"}]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    found = {f.code: f for f in examine(path, "classify", tokenizer=minilm_tokenizer, max_length=32).findings}
    long = found["doctor.too_long"]
    # "word" is one word piece; [CLS] and [SEP] make 42 and 102 tokens
    assert (long.count, long.examples, long.values["tokens"]) == (2, [2, 3], (42 - 32) + (102 - 32))
    assert long.fix == "raise_max_length" and long.fix_label == "Raise the length limit to 128"
    capped = {f.code: f for f in examine(path, "classify", tokenizer=minilm_tokenizer, max_length=512).findings}
    assert "doctor.too_long" not in capped


def test_the_cli_prints_and_stores_the_report(planted, tunewright_home):
    done = subprocess.run(
        [sys.executable, "-m", "engine", "doctor", str(planted), "--task", "classify", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    db = store.open_db(store.database_path(tunewright_home))
    row = next(db["datasets"].rows_where("path = ?", [str(planted)]))
    assert json.loads(row["metadata"])["report"]["findings"] == printed["report"]["findings"]
    assert row["rows"] == 72 and row["task"] == "classify" and row["format"] == "csv"


def test_a_file_that_cannot_be_read_is_a_stored_sentence_not_a_crash(tmp_path, tunewright_home):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": \n')
    done = subprocess.run(
        [sys.executable, "-m", "engine", "doctor", str(bad), "--task", "classify"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.startswith("Line 2 of bad.jsonl is not a valid JSON object")
    db = store.open_db(store.database_path(tunewright_home))
    metadata = json.loads(next(db["datasets"].rows_where("path = ?", [str(bad)]))["metadata"])
    assert metadata["status"] == "failed" and metadata["error"].startswith("Line 2 of bad.jsonl")



def test_placeholders_in_chat_data_are_named(tmp_path):
    rows = [{"instruction": "Who are you?", "output": "I am {{name}}, made by {{author}}."},
            {"instruction": "hi", "output": "Hello!"}, {"instruction": "Your name?", "output": "{{name}}."}]
    path = tmp_path / "identity.json"
    path.write_text(json.dumps(rows))
    found = examine(path, "chat").finding("doctor.placeholders")
    assert (found.count, found.examples) == (2, [1, 3])
    assert found.message.startswith("2 conversations use the placeholders {{name}}, {{author}}, which the run fills in")


def customer_service_export(folder: Path) -> Path:
    """A helpdesk export as Excel on Windows saves it: semicolons, Windows-1252, 12 topics, and one empty
    message whose topic appears nowhere else."""
    topics = ["Karte gesperrt", "Überweisung", "Lost or stolen card", "Kontoauszug", "Zinsen", "Gebühren",
              "Adressänderung", "Online-Banking", "Kredit", "Sparplan", "Währung", "Kündigung"]
    lines = ["Nachricht;Thema"]
    for i in range(120):
        topic = topics[i % 12]
        lines.append(f"Kunde {i}: Frage zu {topic} – bitte um Rückmeldung (Grüße, Müller);{topic}")
    lines.append(";Beschwerde")  # the only row of that topic, and its message is empty
    path = folder / "anfragen.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def test_an_empty_message_of_a_topic_found_nowhere_else_is_reported_not_a_crash(tmp_path):
    report = examine(customer_service_export(tmp_path), "classify")
    found = {finding.code: finding for finding in report.findings}
    assert (report.text_column, report.label_column, report.usable_rows) == ("Nachricht", "Thema", 120)
    assert found["doctor.empty_rows"].examples == [121]
    assert "Beschwerde" not in report.classes and len(report.classes) == 12
    assert not [f for f in report.findings if f.severity == "error"]


def test_one_category_is_an_error_with_a_way_forward(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\n" + "".join(f"message {i},billing\n" for i in range(60)))
    found = examine(path, "classify").finding("doctor.one_class")
    assert found.severity == "error"
    assert "'billing'" in found.message and "Choose the column that holds the categories" in found.message


def test_a_check_that_breaks_is_a_finding_and_the_others_still_report(planted, monkeypatch):
    from engine.data import doctor

    def broken(scan, report):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(doctor, "_class_findings", broken)
    report = examine(planted, "classify")
    found = {finding.code: finding for finding in report.findings}
    assert "doctor.duplicates" in found and "doctor.empty_rows" in found
    assert found["doctor.check_failed"].message.startswith("One of the doctor's checks (categories) could not be done")
    assert "ZeroDivisionError: division by zero" in found["doctor.check_failed"].message


def test_a_doctor_that_breaks_is_a_stored_sentence_and_the_cli_exits_non_zero(planted, tunewright_home):
    # a bug anywhere in the check (here, a file the reader cannot follow through) never prints a traceback
    code = ("import sys; from engine.data import doctor; from engine import __main__ as cli; "
            "doctor._scan = lambda *a, **k: 1 / 0; sys.exit(cli.main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "doctor", str(planted), "--task", "classify"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("The data doctor could not read this file through.")
    db = store.open_db(store.database_path(tunewright_home))
    metadata = json.loads(next(db["datasets"].rows_where("path = ?", [str(planted)]))["metadata"])
    assert metadata["status"] == "failed" and "ZeroDivisionError" in metadata["error"]


def test_a_planner_that_breaks_is_a_sentence_and_a_non_zero_exit(planted, tmp_path, tunewright_home):
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"kind": "classify", "model": "demo:minilm", "data": str(planted)}))
    code = ("import sys; from engine import planner, __main__ as cli; "
            "planner.plan_without_training = lambda config: [][1]; sys.exit(cli.main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "plan", str(config)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stdout + done.stderr
    assert "The plan could not be made: the engine met a problem it did not expect" in done.stderr
    assert "IndexError: list index out of range" in done.stderr


def test_a_text_longer_than_any_model_reads_is_flagged_before_a_model_is_chosen(tmp_path):
    rows = [{"text": f"note {i} about {topic}", "label": topic} for i, topic in zip(range(60), ["a", "b", "c"] * 20)]
    rows[7]["text"] = " ".join(["word"] * 30_000)  # a whole report pasted into one cell
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    found = {finding.code: finding for finding in examine(path, "classify").findings}
    long = found["doctor.very_long"]
    assert (long.count, long.examples, long.severity) == (1, [8], "warning")
    assert long.message.startswith("Examples of more than 2,000 words: 1; the longest has 30,000.")


def test_columns_that_hold_nothing_usable_are_an_error_that_says_what_to_choose(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("text,label,notes\n" + "".join(f"message {i},,x\n" for i in range(30)), encoding="utf-8")
    found = {finding.code: finding for finding in examine(path, "classify", label_column="label").findings}
    nothing = found["doctor.nothing_usable"]
    assert nothing.severity == "error" and nothing.message.startswith("None of the 30 rows has both a text")
    assert "Choose the columns" in nothing.message
