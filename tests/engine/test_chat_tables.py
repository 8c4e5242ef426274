"""Chat examples from a table: question and answer columns found by their names in four languages or by
their contents, a context column, and conversations of several turns by a conversation id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data.conversations import ChatColumns, guess_chat_columns, load_conversations
from engine.data.doctor import apply_fix, examine
from engine.data.preview import describe_file

ROOT = Path(__file__).resolve().parents[2]


def excel(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("question, answer", [
    ("Question", "Answer"), ("Frage", "Antwort"), ("Question posée", "Réponse"), ("Pregunta", "Respuesta"),
    ("prompt", "response"), ("Input", "Output"), ("user_message", "Reply"),
])
def test_question_and_answer_columns_are_found_by_their_names(question, answer):
    rows = [{"Nr": i, question: f"Wie lange dauert {i}?", answer: f"Etwa {i} Tage.", "Abteilung": "Praxis"}
            for i in range(5)]
    found = guess_chat_columns(rows)
    assert (found.question, found.answer) == (question, answer)


def test_without_telling_names_the_contents_decide_once_the_task_is_chat(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("Thema;Text A;Text B\n" + "".join(
        f"{i};Kann ich Termin {i} verschieben?;Ja, rufen Sie bitte bis einen Tag vorher an, dann verschieben wir Termin {i}.\n"
        for i in range(30)), encoding="utf-8")
    assert describe_file(path).task == "classify"  # names alone do not say "conversations"
    described = describe_file(path, task="chat")
    assert (described.layout, described.chat_columns.question, described.chat_columns.answer) == ("table", "Text A", "Text B")
    assert not described.problem


def test_an_excel_sheet_of_questions_and_answers_is_chat_data(tmp_path):
    path = excel(tmp_path / "clinic.xlsx", ["Question", "Answer", "Context"],
                 [[f"When is the clinic open on day {i}?", f"From 8 to 18 on day {i}.", "You answer for the clinic."]
                  for i in range(60)] + [["An empty answer", None, None]])
    described = describe_file(path)
    assert (described.task, described.layout) == ("chat", "table")
    assert described.chat_columns == ChatColumns("Question", "Answer", "Context", "")
    data = load_conversations(path)
    assert (len(data.conversations), data.skipped_rows, data.format) == (60, 1, "table")
    assert [(t.role, t.train) for t in data.conversations[0]] == [("system", False), ("user", False), ("assistant", True)]
    report = examine(path, "chat")
    assert report.finding("doctor.empty_rows").examples == [61]
    assert report.chat_columns["answer"] == "Answer"


def test_rows_with_one_conversation_id_are_one_conversation_and_a_copy_keeps_the_columns(tmp_path):
    path = tmp_path / "chats.csv"
    lines = ["Gespräch,Frage,Antwort,Notiz"]
    for chat in range(20):
        lines += [f"{chat},Hallo {chat},Guten Tag!,x", f"{chat},Wann offen?,Ab 8 Uhr.,y"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_conversations(path)
    assert len(data.conversations) == 20
    assert [t.content for t in data.conversations[0]] == ["Hallo 0", "Guten Tag!", "Wann offen?", "Ab 8 Uhr."]
    # the person picks the note column as the answers: a copy saved "as read" carries that choice
    chosen = ChatColumns("Frage", "Notiz", "", "Gespräch")
    report = examine(path, "chat", chat_columns=chosen)
    copy = apply_fix(report, "as_read", tmp_path / "copies")
    again = load_conversations(copy.path)
    assert again.format == "openai" and [t.content for t in again.conversations[0]] == ["Hallo 0", "x", "Wann offen?", "y"]


def test_the_cli_doctor_takes_the_columns_chosen(tmp_path, tunewright_home):
    path = tmp_path / "qa.tsv"
    path.write_text("a\tb\n" + "".join(f"question {i}\tanswer {i}\n" for i in range(60)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "engine", "doctor", str(path), "--task", "chat", "--json",
                           "--question-column", "b", "--answer-column", "a"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["report"]
    assert (report["layout"], report["chat_columns"]["question"], report["chat_columns"]["answer"]) == ("table", "b", "a")
