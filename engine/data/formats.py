"""Reading rows from the files people bring: CSV, TSV, Excel, JSON, JSON Lines and Parquet.

Every reader gives the same thing back, a list of dicts (one per row, keyed by column name), so the task
loaders (classification.py, conversations.py) never care where a row came from. Files made by other
programs are messy, so the readers are forgiving where a guess is safe (the text encoding, the CSV
delimiter, whether there is a header) and raise a DataError naming the line where it is not.

Only the standard library is needed; pyarrow and openpyxl are imported when a Parquet or Excel file is
actually read, so a missing optional package only matters to the person who needs it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from engine.data.errors import DataError, describe

_CSV_DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a data file as a dict of column name to value, in file order.

    The reader is chosen by the file's extension. JSON may be a list of objects or an object with exactly
    one list of objects inside (e.g. ``{"data": [...]}``); a ``.json`` file that is really JSON Lines is
    read as such, since that mistake is common and harmless.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file.missing", file=path.name)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".jsonl", ".csv", ".tsv", ".txt", ".parquet", ".xlsx"):
        raise DataError("file.unsupported", file=path.name)
    try:
        if suffix == ".parquet":
            records = _read_parquet(path)
        elif suffix == ".xlsx":
            records = _read_xlsx(path)
        else:
            records = _parse_text(decode_text(path), path.name, suffix)
    except OSError as error:  # no permission, or locked by Excel on Windows
        raise DataError("file.cannot_open", file=path.name, detail=str(error)) from None
    if not records:
        raise DataError("file.empty", file=path.name)
    return records


def _parse_text(text: str, name: str, suffix: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    if suffix == ".json":
        return _parse_json(text, name)
    if suffix == ".jsonl":
        return _parse_jsonl(text, name)
    return _parse_delimited(text, name, delimiter="\t" if suffix == ".tsv" else None)


def decode_text(path: Path) -> str:
    """The file's text, trying the encodings people's files actually use.

    UTF-16 is only taken when the file starts with its byte-order mark (Excel's "Unicode text" export);
    then UTF-8 (with or without a mark); then Windows-1252, which Excel on Windows writes for "CSV"; and
    finally Latin-1, which can decode any bytes at all, so a file is never refused for its encoding.
    """
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DataError("file.unreadable", file=path.name, kind="UTF-16 text", detail=str(error)) from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


# JSON and JSON Lines


def _parse_json(text: str, name: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # one object per line, saved as .json
            return _parse_jsonl(text, name)
        raise DataError("json.invalid", file=name, line=error.lineno, column=error.colno, reason=error.msg)
    if isinstance(data, dict):
        lists = {key: value for key, value in data.items() if isinstance(value, list)}
        if len(lists) > 1:
            raise DataError("json.many_lists", file=name, names=", ".join(f"'{key}'" for key in lists))
        if not lists:
            raise DataError("json.not_a_list", file=name, found="a single record")
        data = next(iter(lists.values()))
    if not isinstance(data, list):
        raise DataError("json.not_a_list", file=name, found=describe(data))
    for row, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise DataError("row.not_an_object", file=name, row=row)
    return data


def _parse_jsonl(text: str, name: str) -> list[dict[str, Any]]:
    records = []
    # split on "\n" only: str.splitlines would also split on characters a JSON text may hold (U+2028)
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError("jsonl.bad_line", file=name, line=line_number, reason=error.msg)
        if not isinstance(record, dict):
            raise DataError("jsonl.bad_line", file=name, line=line_number, reason=f"it holds {describe(record)}")
        records.append(record)
    return records


# CSV and TSV


def _parse_delimited(text: str, name: str, delimiter: str | None) -> list[dict[str, Any]]:
    """Rows of a CSV/TSV text; the delimiter is sniffed when not given, the header guessed.

    Without a header the columns are called "column 1", "column 2", ... (what a spreadsheet would show).
    """
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=_CSV_DELIMITERS).delimiter
        except csv.Error:  # a single column, or too few rows to tell
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)  # keeps newlines inside quotes
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        return []
    cells = [row for _, row in rows]
    if _looks_like_header(cells):
        columns = _unique_names([cell.strip() for cell in cells[0]])
        rows = rows[1:]
    else:
        columns = [f"column {number}" for number in range(1, max(map(len, cells)) + 1)]
    records = []
    for line, row in rows:
        if len(row) > len(columns):
            raise DataError(
                "csv.too_many_values", file=name, line=line, found=len(row), expected=len(columns),
                delimiter="tab" if delimiter == "\t" else delimiter,
            )
        records.append(dict(zip(columns, row + [""] * (len(columns) - len(row)))))
    return records


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than being data.

    A header has no empty cell and no number, and none of its cells appears again below it in the same
    column (a label like "positive" repeats; a column name does not). When nothing speaks against it we
    assume a header, as most files have one and the guessed columns are shown to the user to confirm.
    csv.Sniffer.has_header is not used: it votes "no header" for any file whose columns are free text.
    """
    first, rest = rows[0], rows[1:]
    if any(not cell.strip() or _is_number(cell) for cell in first):
        return False
    return not any(
        column < len(row) and row[column] == cell for column, cell in enumerate(first) for row in rest
    )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _unique_names(names: list[str]) -> list[str]:
    """Header names made unique ("text", "text 2"), so that no column silently overwrites another."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        name = name or "column"
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return unique


# Parquet and Excel: optional packages


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DataError("file.needs_package", file=path.name, package="pyarrow") from None
    try:
        records = parquet.read_table(path).to_pylist()
    except Exception as error:  # pyarrow raises its own error types for damaged files
        raise DataError("file.unreadable", file=path.name, kind="Parquet", detail=str(error)) from None
    return records


def _read_xlsx(path: Path) -> list[dict[str, Any]]:
    """The first sheet's rows; empty cells become "" and the header is guessed as for CSV."""
    try:
        import openpyxl
    except ImportError:
        raise DataError("file.needs_package", file=path.name, package="openpyxl") from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet_rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
    except Exception as error:  # openpyxl raises several unrelated types for damaged files
        raise DataError("file.unreadable", file=path.name, kind="Excel", detail=str(error)) from None
    rows = [["" if cell is None else cell for cell in row] for row in sheet_rows]
    rows = [row for row in rows if any(str(cell).strip() for cell in row)]
    if not rows:
        return []
    as_text = [[str(cell) for cell in row] for row in rows]
    if _looks_like_header(as_text):
        columns = _unique_names([cell.strip() for cell in as_text[0]])
        rows = rows[1:]
    else:
        columns = [f"column {number}" for number in range(1, max(map(len, rows)) + 1)]
    return [dict(zip(columns, row)) for row in rows]

