"""Malformed files, made here, each imported for both tasks: every one gets one clear sentence (the error a
person reads, or the line saying how the file was read) and nothing crashes.

`outcome` does what the window and the engine do with a file: describe it (the preview), then load it for
the task with the options the preview found. Any exception other than a DataError fails the test.
"""

from __future__ import annotations

import io
import json
import random
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.data.classification import load_classification
from engine.data.conversations import load_conversations
from engine.data.errors import DataError
from engine.data.preview import describe_file

CSV = "text,label\nhello there,greet\nbye now,leave\nhi,greet\n"
CHAT = [{"instruction": "Say hi", "output": "Hi!"}, {"instruction": "Say bye", "output": "Bye!"}]
NOT_CHAT = r"^{name} does not look like conversation data: .*but found: {fields}\.$"


def outcome(path: Path, task: str) -> str:
    """The one sentence a person would read about importing `path` for `task`."""
    try:
        description = describe_file(path, task=task)
        if description.problem:
            return description.problem
        if task == "classify":
            data = load_classification(path, description.text_column, description.label_column, description.options)
            return f"{len(data.texts)} examples: {description.summary()}"
        data = load_conversations(path, {}, description.options)
        return f"{len(data.conversations)} conversations: {description.summary()}"
    except DataError as error:
        return str(error)


# ---------------------------------------------------------------- the files


def text(content: str, encoding: str = "utf-8") -> Callable[[Path], bytes]:
    return lambda folder: content.encode(encoding)


def raw(content: bytes) -> Callable[[Path], bytes]:
    return lambda folder: content


def late_bad_byte(folder: Path) -> bytes:
    # valid UTF-8 for 100 KB, then a byte no encoding but Latin-1 can read (0x81 is unused in Windows-1252)
    return (CSV + "".join(f"row {i} is fine,greet\n" for i in range(5000))).encode() + b"caf\x81,greet\n"


def one_huge_line(folder: Path) -> bytes:
    return b"text,label\n" + b"x" * (50 * 2**20) + b"\n"


def random_bytes(folder: Path) -> bytes:
    return random.Random(0).randbytes(8192)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_bomb(folder: Path) -> bytes:
    """A workbook-looking archive whose sheet unpacks to 200 MB of zeros from about 200 KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = bytes(2**20)
            for _ in range(200):
                sheet.write(block)
    return buffer.getvalue()


def workbook(rows: list[list], merge: list[str] = ()) -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        for cells in merge:
            sheet.merge_cells(cells)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    return make


def parquet(rows: list[dict]) -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), buffer)
        return buffer.getvalue()

    return make


def registry(entries: dict, files: dict[str, str]) -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(content, encoding="utf-8")
        return json.dumps(entries).encode()

    return make


def folder_of_texts(files: dict[str, bytes]) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)

    return make


def mixed_utf8_and_cp1252(folder: Path) -> bytes:
    """30 rows saved as UTF-8, then 30 pasted from a Windows program."""
    utf8 = "".join(f"café crème {i},drink\n" for i in range(30)).encode("utf-8")
    windows = "".join(f"thé glacé {i},drink\n" for i in range(30)).encode("cp1252")
    return b"text,label\n" + utf8 + windows


def header_after_blank_lines(folder: Path) -> bytes:
    return b"\n" * (70 * 1024) + CSV.encode()


def workbook_sheets(sheets: dict[str, list[list]]) -> Callable[[Path], bytes]:
    def make(folder: Path) -> bytes:
        import openpyxl

        book = openpyxl.Workbook()
        book.remove(book.active)
        for title, rows in sheets.items():
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    return make


def many_rows(count: int, label: Callable[[int], str]) -> Callable[[Path], bytes]:
    return lambda folder: ("text,label\n" + "".join(f"text number {i},{label(i)}\n" for i in range(count))).encode()


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
OK_CSV = "3 examples: CSV, separated by commas, {encoding}, with a header row"

# (file name, how to make it, sentence for "classify", sentence for "chat"); a sentence is a regular
# expression for the whole outcome; "{name}" stands for the file name.
CASES: list[tuple[str, Callable, str, str]] = [
    # encodings and byte-order marks
    ("bom.csv", raw(b"\xef\xbb\xbf" + CSV.encode()), OK_CSV.format(encoding=r"UTF-8 \(with a byte-order mark\)"), NOT_CHAT),
    ("utf16le.csv", text(CSV, "utf-16"), OK_CSV.format(encoding="UTF-16"), NOT_CHAT),
    ("utf16be.csv", raw(b"\xfe\xff" + CSV.encode("utf-16-be")), OK_CSV.format(encoding="UTF-16"), NOT_CHAT),
    ("utf16_no_mark.csv", text(CSV, "utf-16-le"), OK_CSV.format(encoding="UTF-16"), NOT_CHAT),
    ("utf16_odd_bytes.csv", raw(b"\xff\xfe" + CSV.encode("utf-16-le") + b"x"),
     r"^{name} could not be read; it may be damaged, or not really a UTF-16 text file\.$", "same"),
    ("latin1.csv", text(CSV.replace("hello", "héllo"), "latin-1"), OK_CSV.format(encoding="Windows-1252"), NOT_CHAT),
    ("smart_quotes.csv", text(CSV.replace("bye now", "“bye” now"), "cp1252"), OK_CSV.format(encoding="Windows-1252"), NOT_CHAT),
    ("late_bad_byte.csv", late_bad_byte, r"5004 examples: CSV, separated by commas, Latin-1, with a header row", NOT_CHAT),
    ("utf32.csv", text(CSV, "utf-32"), OK_CSV.format(encoding="UTF-32"), NOT_CHAT),
    # NUL bytes, binaries, renamed files
    ("nul_bytes.csv", raw(CSV.replace("bye", "b\0ye").encode() + b"\0"), OK_CSV.format(encoding="UTF-8"), NOT_CHAT),
    ("all_nul.csv", raw(bytes(4096)), r"^{name} is not a text file: it looks like something other than text\. Save .*", "same"),
    ("picture.csv", raw(PNG), r"^{name} is not a text file: it looks like a PNG image\. Save your data as CSV, Excel, JSON or Parquet\.$", "same"),
    ("document.csv", raw(b"%PDF-1.7\n" + bytes(range(256))), r"^{name} is not a text file: it looks like a PDF document\. .*", "same"),
    ("old_excel.csv", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)), r"^.* it looks like an old Office \(\.xls/\.doc\) file\. .*", "same"),
    ("noise.csv", random_bytes, r"^{name} is not a text file: .*", "same"),
    ("archive.csv", raw(zipped({"notes.txt": b"hello"})),
     r"^{name} is a zip archive, not a table of examples, whatever its name says\. Put your examples in a .*", "same"),
    ("report.csv", raw(zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})),
     r"^{name} is a Word document, not a table of examples, whatever its name says\. Put your examples in a "
     r"spreadsheet and save it as Excel \(\.xlsx\) or CSV\.$", "same"),
    ("parquet_named.csv", parquet([{"text": "hi", "label": "a"}, {"text": "yo", "label": "b"}]),
     r"^2 examples: Parquet$", NOT_CHAT),
    ("workbook_named.json", workbook([["text", "label"], ["hi", "a"], ["yo", "b"]]),
     r"^2 examples: Excel workbook, with a header row$", NOT_CHAT),
    ("gzip.jsonl", raw(b"\x1f\x8b\x08\x00" + bytes(64)), r"^{name} is not a text file: it looks like a gzip archive\. .*", "same"),
    # CSV shapes
    ("empty.csv", raw(b""), r"^{name} is empty\.$", "same"),
    ("blank_lines.csv", text("\n  \n\t\n\n"), r"^{name} is empty\.$", "same"),
    ("header_only.csv", text("text,label\n"), r"^{name} has a header row \(text, label\) but no examples under it\.$", "same"),
    ("ragged_long.csv", text("text,label\nhello,greet\nhello, world,greet,extra\n"),
     r"^Line 3 of {name} has 4 values but the header names 2 columns; a text probably contains a ',' without quotes around it\.$", "same"),
    ("ragged_short.csv", text("text,label\nhello,greet\nlonely\nbye,leave\n"), r"^2 examples: .*", NOT_CHAT),
    ("mixed_delimiters.csv", text("text;label\nhello;greet\nbye,leave;x\nhi;greet\n"),
     r"^3 examples: CSV, separated by semicolons, UTF-8, with a header row$", NOT_CHAT),
    # the quote runs to the end, so the rest of the file is one text without a label
    ("unclosed_quote.csv", text('text,label\n"hello,greet\nbye,leave\n'), r"^{name} has no rows with both a text and a label\.$", NOT_CHAT),
    ("one_50mb_line.csv", one_huge_line,
     r"^Line 2 of {name} holds a value of more than 16 million characters; a quote is probably not closed, .*", "same"),
    ("old_mac_endings.csv", text(CSV.replace("\n", "\r")), OK_CSV.format(encoding="UTF-8"), NOT_CHAT),
    ("one_column.csv", text("text\nhello\nbye\n"), r"^{name} has only a column of texts \('text'\) and none with labels\. Add a column with each text's category; .*", NOT_CHAT),
    ("no_labels.csv", text("text,label\nhello,\nbye,\n"), r"^{name} has no rows with both a text and a label\.$", NOT_CHAT),
    ("numbers_only.csv", text("1,2\n3,4\n5,6\n"), r"^3 examples: CSV, separated by commas, UTF-8, without a header row$", NOT_CHAT),
    # JSON of the wrong shape
    ("number.json", text("42"), r"^{name} should hold a list of records, but it holds a number\.$", "same"),
    ("strings.json", text('["a", "b"]'), r"^Row 1 of {name} is not a record with named fields\.$", "same"),
    ("two_lists.json", text('{"train": [{"text": "a"}], "test": [{"text": "b"}]}'),
     r"^{name} holds several lists \('train', 'test'\), so it is not clear which one is the data; keep only one\.$", "same"),
    ("truncated.json", text('[{"text": "a", "label": "x"}, {"text": "b", '),
     r"^{name} is not valid JSON: there is a problem at line 1, column \d+ \(.*\)\.$", "same"),
    ("deep.json", text("[" * 200_000 + "]" * 200_000), r"^{name} nests lists or groups of fields too deeply to be data for training\.$", "same"),
    ("bad_line.jsonl", text('{"text": "a", "label": "x"}\n{"text": "b" "label": "y"}\n'),
     r"^Line 2 of {name} is not a valid JSON object \(.*\)\.$", "same"),
    ("list_line.jsonl", text('{"text": "a", "label": "x"}\n[1, 2]\n'), r"^Line 2 of {name} is not a valid JSON object \(it holds a list\)\.$", "same"),
    ("label_object.jsonl", text('{"text": "a", "label": "x"}\n{"text": "b", "label": {"x": 1}}\n'),
     r"^Row 2 of {name} has a group of named fields in 'label', which cannot be used as a label\.$", NOT_CHAT),
    ("bad_role.json", text(json.dumps([{"messages": [{"role": "wizard", "content": "hi"}]}])),
     r"^.*", r"^Row 1 of {name} has a turn from 'wizard', which is not a known speaker\.$"),
    ("turns_not_list.json", text(json.dumps([{"conversations": "hello"}])),
     r"^.*", r"^Row 1 of {name} has a text where the list of 'conversations' should be\.$"),
    ("alpaca.json", text(json.dumps(CHAT)), r"^2 examples: JSON, UTF-8$", r"^2 conversations: JSON, UTF-8, Alpaca \(instruction and answer\)$"),
    # Excel
    ("merged_cells.xlsx", workbook([["text", "label"], ["hi", "greet"], ["hello", None], ["bye", "leave"]], merge=["B2:B3"]),
     r"^2 examples: Excel workbook, with a header row$", NOT_CHAT),
    ("merged_header.xlsx", workbook([["Tickets", None], ["text", "label"], ["hi", "greet"], ["bye", "leave"]], merge=["A1:B1"]),
     r"^3 examples: Excel workbook, without a header row$", NOT_CHAT),
    ("header_only.xlsx", workbook([["text", "label"]]), r"^{name} has a header row \(text, label\) but no examples under it\.$", "same"),
    ("empty.xlsx", workbook([]), r"^{name} is empty\.$", "same"),
    ("zip_bomb.xlsx", zip_bomb,
     r"^{name} would unpack to 0\.2 GB, far more than any real workbook; it was not opened, as it is damaged or made to fill the disk\.$", "same"),
    ("broken.xlsx", raw(b"PK\x03\x04" + bytes(100)), r"^{name} could not be read; it may be damaged, or not really an Excel file\.$", "same"),
    ("broken.parquet", raw(b"PAR1" + bytes(100)), r"^{name} could not be read; it may be damaged, or not really a Parquet file\.$", "same"),
    # names, kinds and places
    ("données ✓ (copy) #1 [final] ;,.csv", text(CSV), OK_CSV.format(encoding="UTF-8"), NOT_CHAT),
    ("notes.docx", text("hello"), r"^{name} is not a kind of file that can be read here; .*", "same"),
    ("texts", folder_of_texts({"greet/a.txt": b"hello", "greet/b.txt": "héllo".encode("cp1252"), "leave/c.txt": b"bye\0"}),
     r"^3 examples: a folder of text files$", NOT_CHAT),
    ("no_texts", folder_of_texts({"readme.md": b"# nothing"}),
     r"^The folder {name} holds no \.txt files; put each category's texts in a sub-folder of its own\.$", "same"),
    ("bad_text_folder", folder_of_texts({"greet/a.txt": b"hello", "greet/b.txt": PNG}),
     r"^b\.txt is not a text file: it looks like a PNG image\. .*", "same"),
    ("dataset_info.json", registry({"mine": {"file_name": "missing.json"}}, {}),
     r"^{name} lists no dataset whose file is in the same folder; copy the data files next to it\.$", "same"),
    ("reg_outside/dataset_info.json", registry({"escape": {"file_name": "../outside.json"}}, {"../outside.json": json.dumps(CHAT)}),
     r"^The dataset 'escape' in dataset_info\.json points to a file outside its folder, which is not read\.$", "same"),
    ("reg_broken/dataset_info.json", raw(b"{not json"), r"^dataset_info\.json is not a valid LLaMA-Factory dataset list \(.*\)\.$", "same"),
    # bounded, and read as they are (issue 14)
    ("mixed_utf8_cp1252.csv", mixed_utf8_and_cp1252, r"^60 examples: CSV, separated by commas, UTF-8 with some lines in Windows-1252, with a header row$", NOT_CHAT),
    ("header_after_70kb_blank.csv", header_after_blank_lines, OK_CSV.format(encoding="UTF-8"), NOT_CHAT),
    ("header_after_blank_crlf.csv", lambda folder: b"\r\n" * 40_000 + CSV.replace("\n", "\r\n").encode(), OK_CSV.format(encoding="UTF-8"), NOT_CHAT),
    ("utf16_no_mark_be.csv", text(CSV, "utf-16-be"), OK_CSV.format(encoding="UTF-16"), NOT_CHAT),
    ("utf16_no_mark_accents.tsv", text(CSV.replace(",", "\t").replace("hello", "héllo ünïcode"), "utf-16-le"), r"^3 examples: TSV \(tab-separated\), UTF-16, with a header row$", NOT_CHAT),
    ("second_sheet.xlsx", workbook_sheets({"Notes": [["Exported from the ticket system"]], "Tickets": [["text", "label"], ["hi", "greet"], ["bye", "leave"]]}),
     r"^Only the first sheet of {name}, 'Notes', is read, and it holds almost nothing, while another sheet holds a table \(its sheets: 'Notes', 'Tickets'\); .*", "same"),
    ("empty_first_sheet.xlsx", workbook_sheets({"Sheet1": [], "Data": [["text", "label"], ["hi", "greet"], ["bye", "leave"]]}),
     r"^Only the first sheet of {name}, 'Sheet1', is read, .*", "same"),
    ("two_real_sheets.xlsx", workbook_sheets({"Train": [["text", "label"], ["hi", "greet"], ["bye", "leave"]], "Test": [["text", "label"], ["yo", "greet"]]}),
     r"^2 examples: Excel workbook, with a header row$", NOT_CHAT),
    ("control_header.csv", text("te\x1bxt\x07,\u202elabel\n\x1b[31mhello,greet\nbye,leave\n"), r"^{name} is not a text file: .*", "same"),
    ("garbage_header.csv", text("\x01\x02\x03,\x04\x05\nhello,greet\nbye,leave\n"), r"^.{0,300}$", "same"),
    ("long_header_names.csv", text(",".join(["h" * 5000 + str(i) for i in range(40)]) + "\n" + ",".join(["1"] * 40) + "\n"), r"^.{0,400}$", "same"),
    ("one_mb_label.jsonl", text(json.dumps({"text": "hello", "label": {"x" * 2**20: 1}}) + "\n"), r"^Row 1 of {name} has a group of named fields in 'label', .*", NOT_CHAT),
    ("one_mb_column_name.jsonl", text(json.dumps({"y" * 2**20: "hello"}) + "\n"), r"^.{0,400}$", "same"),
    ("newline_column.json", text(json.dumps([{"te\nxt": "hi", "la\r\nbel": "greet"}])), r"^.{0,400}$", "same"),
    ("lone_surrogate.jsonl", text('{"text": "caf\\ud800e", "label": "x"}\n{"text": "ok", "label": "y"}\n'), r"^2 examples: JSON Lines, UTF-8$", NOT_CHAT),
    ("lone_surrogate_label.jsonl", text('{"text": "hi", "label": "\\udfff"}\n{"text": "ok", "label": "y"}\n'), r"^.{0,300}$", NOT_CHAT),
    ("bidi_override_label.csv", text("text,label\nhello,\u202egreet\nbye,leave\n"), r"^2 examples: .*", NOT_CHAT),
    ("ten_thousand_columns.csv", text(",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("x" for _ in range(10_000)) + "\n"), r"^.{0,400}$", "same"),
    ("deep_jsonl_line.jsonl", text("[" * 100_000 + "]" * 100_000 + "\n"), r"^{name} nests lists or groups of fields too deeply to be data for training\.$", "same"),
    ("huge_number.json", text('[{"text": "a", "label": ' + "9" * 5000 + "}]"), r"^{name} holds a number of thousands of digits, .*", "same"),
    ("huge_number.jsonl", text('{"text": "a", "label": ' + "9" * 5000 + "}\n"), r"^{name} holds a number of thousands of digits, .*", "same"),
    ("nan_label.json", text('[{"text": "a", "label": NaN}, {"text": "b", "label": Infinity}]'), r"^.{0,300}$", "same"),
    ("null_everywhere.json", text('[{"text": null, "label": null}, {"text": null, "label": null}]'), r"^.{0,300}$", "same"),
    ("bool_labels.jsonl", text('{"text": "a", "label": true}\n{"text": "b", "label": false}\n'), r"^.{0,300}$", NOT_CHAT),
    ("float_text.csv", text("text,label\n1.5,a\n2.5,b\n"), r"^.{0,300}$", NOT_CHAT),
    ("only_delimiters.csv", text(",,,\n,,,\n;;;\n"), r"^.{0,300}$", "same"),
    ("quote_soup.csv", text('"""",""""\n"a""b","c\n'), r"^.{0,300}$", "same"),
    ("cr_only_mixed.csv", text("text,label\rhello,greet\r\nbye,leave\n"), r"^.{0,300}$", NOT_CHAT),
    ("tab_named_csv.csv", text(CSV.replace(",", "\t")), r"^3 examples: CSV, UTF-8, with a header row$", NOT_CHAT),
    ("pipe_separated.csv", text(CSV.replace(",", "|")), r"^3 examples: CSV, separated by vertical bars, UTF-8, with a header row$", NOT_CHAT),
    ("html_saved_as.csv", text("<!DOCTYPE html><html><body><table><tr><td>x</td></tr></table></body></html>\n"), r"^.{0,300}$", "same"),
    ("script_in_cells.csv", text("text,label\n<script>alert(1)</script>,<b>x</b>\nbye,leave\n"), r"^2 examples: .*", NOT_CHAT),
    ("bom_then_blank_lines.csv", raw(b"\xef\xbb\xbf" + b"\n" * 1000 + CSV.encode()), OK_CSV.format(encoding=r"UTF-8 \(with a byte-order mark\)"), NOT_CHAT),
    ("zip_named_xlsx.xlsx", raw(zipped({"word/document.xml": b"<doc/>"})), r"^{name} is a Word document, not a table of examples, whatever its name says\..*$", "same"),
    ("truncated.xlsx", lambda folder: workbook([["text", "label"], ["hi", "a"]])(folder)[:300], r"^{name} could not be read; .*", "same"),
    ("truncated.parquet", lambda folder: parquet([{"text": "hi", "label": "a"}])(folder)[:-20], r"^{name} could not be read; .*", "same"),
    ("empty.json", raw(b""), r"^{name} is empty\.$", "same"),
    ("empty_list.json", text("[]"), r"^{name} is empty\.$", "same"),
    ("empty_object.json", text("{}"), r"^{name} should hold a list of records, but it holds a single record\.$", "same"),
    ("blank.jsonl", text("\n\n   \n"), r"^{name} is empty\.$", "same"),
    ("sharegpt_bad_turns.json", text(json.dumps([{"conversations": [{"from": "human"}]}])), r"^.*", r"^.{0,300}$"),
    ("messages_with_images.json", text(json.dumps([{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]}])),
     r"^.*", r"^Row 1 of {name} has a message part of the kind 'image_url'; only text can be used\.$"),
]


def make(tmp_path: Path, name: str, maker: Callable) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(("texts", "folder")) or "." not in Path(name).name:
        path.mkdir()
        maker(path)
        return path
    path.write_bytes(maker(path.parent))
    return path


def test_there_are_more_than_90_malformed_files():
    assert len(CASES) > 90 and len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("name, maker, classify, chat", CASES, ids=[case[0] for case in CASES])
def test_each_file_gets_one_clear_sentence_for_both_tasks(tmp_path, name, maker, classify, chat):
    path = make(tmp_path, name, maker)
    for task, expected in (("classify", classify), ("chat", classify if chat == "same" else chat)):
        started = time.monotonic()
        said = outcome(path, task)
        assert time.monotonic() - started < 10, f"{name} took too long for {task}"
        assert re.fullmatch(expected.replace("{name}", re.escape(path.name)).replace("{fields}", ".*"), said), (task, said)
        assert "\n" not in said and "Traceback" not in said and len(said) < 400


def test_a_missing_file_is_named(tmp_path):
    for task in ("classify", "chat"):
        assert outcome(tmp_path / "gone.csv", task) == "The file gone.csv does not exist."


@pytest.mark.parametrize("name, maker", [case[:2] for case in CASES], ids=[case[0] for case in CASES])
def test_each_file_through_the_engine_command_ends_without_a_traceback(tmp_path, capsys, name, maker):
    from engine.__main__ import main

    path = make(tmp_path, name, maker)
    for task in ("classify", "chat"):
        started = time.monotonic()
        code = main(["doctor", str(path), "--task", task])
        said = capsys.readouterr()
        assert time.monotonic() - started < 20, f"{name} took too long for {task}"
        assert "Traceback" not in said.out + said.err and "went wrong inside" not in said.err, said
        if code != 0:  # refused: one sentence
            assert len((said.out + said.err).strip().splitlines()) == 1, said
