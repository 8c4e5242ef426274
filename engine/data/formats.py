"""Reading rows from the files people bring: CSV, TSV, Excel, JSON, JSON Lines, Parquet, a folder of texts,
and LLaMA-Factory's dataset registry.

Every reader gives the same thing back, dicts (one per row, keyed by column name), so the task loaders
(classification.py, conversations.py) and the data doctor never care where a row came from. Files made by
other programs are messy, so the readers are forgiving where a guess is safe (the text encoding, the CSV
delimiter, whether there is a header, a Parquet file saved as ".csv") and raise a DataError naming the line
where it is not.

Rows are streamed (``iter_records``): a million-row CSV, JSON Lines, Parquet or Excel file is read one row
(or one Parquet batch) at a time, so a preview reads only the head and a count never holds the file in
memory. A JSON document is the exception: it is one value, parsed whole.

``resolve_options`` turns what the user said (often nothing) into everything the reader needs, guessing
from the file's head; the window shows those guesses for confirmation. Only the standard library is needed
here; pyarrow and openpyxl are imported when a Parquet or Excel file is actually read. Nothing here imports
torch, so the window can preview files itself.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engine.data.encodings import HEAD_BYTES, detect_encoding, read_head
from engine.data.errors import DataError, describe
from engine.quoting import shown_list

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "xlsx", "folder", "registry")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}
_CSV_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 16 * 1024  # csv.Sniffer slows down badly on long samples
_HEADER_ROWS = 50  # rows looked at to decide whether the first one is a header
#: Longest single CSV value. Python's default (128 KiB) refuses long documents; past this it is no text
#: anyone means to train on, and reading on would only use memory.
MAX_FIELD_CHARS = 16 * 2**20
#: An .xlsx is a zip archive; one that unpacks to more than this is refused unopened (a "zip bomb").
MAX_XLSX_UNPACKED = 2 * 2**30
MAX_XLSX_RATIO = 200
#: openpyxl holds a workbook's shared strings (every distinct text in it) in memory; past this many bytes
#: unpacked they would take gigabytes, so such a workbook is refused before it is opened.
MAX_XLSX_SHARED_STRINGS = 256 * 2**20

csv.field_size_limit(MAX_FIELD_CHARS)

#: A folder of texts is walked at most this deep and this wide: a folder of categories is a few levels
#: and a few thousand files, not a disk.
MAX_FOLDER_DEPTH = 6
MAX_FOLDER_ENTRIES = 200_000
#: Blank lines skipped at the top of a CSV file before its head is read to guess the header.
MAX_LEADING_BLANK = 64 * 2**20

_SURROGATE = re.compile("[\ud800-\udfff]")



@dataclass
class ReadOptions:
    """How to read a file. Empty values mean "guess"; ``resolve_options`` fills them in."""

    format: str = ""  # one of FORMATS
    encoding: str = ""  # a Python codec name
    delimiter: str = ""  # CSV/TSV only
    header: bool | None = None  # CSV/TSV/Excel: does the first row name the columns?
    dataset: str = ""  # registry only: which of its entries

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ReadOptions:
        known = {key: value for key, value in (values or {}).items() if key in cls.__dataclass_fields__}
        return cls(**known)


def read_records(path: str | Path, options: ReadOptions | None = None) -> list[dict[str, Any]]:
    """Every row of a data file as a dict of column name to value, in file order.

    JSON may be a list of objects or an object with exactly one list of objects inside (e.g.
    ``{"data": [...]}``); a ``.json`` file that is really JSON Lines is read as such, since that mistake is
    common and harmless. Raises DataError (one sentence) for anything that cannot be read, and for a file
    without a single row.
    """
    path = Path(path)
    records = list(iter_records(path, resolve_options(path, options, thorough=True)))
    if not records:
        raise DataError("file.empty", file=path.name)
    return records


#: Up to this size a preview checks the encoding over the whole file (a fraction of a second), so that
#: what it shows is what a load will do; past it, the head decides and the count checks the rest.
THOROUGH_PREVIEW_BYTES = 256 * 2**20


def head_records(path: str | Path, options: ReadOptions | None = None, limit: int = 50) -> tuple[ReadOptions, list[dict[str, Any]]]:
    """The options as resolved and the first ``limit`` rows, reading no more of the file than that needs."""
    path = Path(path)
    thorough = path.is_file() and path.stat().st_size <= THOROUGH_PREVIEW_BYTES
    resolved = resolve_options(path, options, thorough=thorough)
    rows = list(itertools.islice(iter_records(path, resolved), limit))
    return resolved, rows


def count_records(path: str | Path, options: ReadOptions | None = None) -> int:
    """How many rows the file has, streaming through it (Parquet: from its metadata)."""
    path = Path(path)
    resolved = resolve_options(path, options, thorough=True)
    if resolved.format == "parquet":
        parquet = _pyarrow_parquet(path)
        try:
            return parquet.ParquetFile(path).metadata.num_rows
        except Exception as error:  # noqa: BLE001 - pyarrow raises its own error types for damaged files
            raise DataError("file.unreadable", file=path.name, kind="a Parquet file", detail=str(error)) from None
    return sum(1 for _ in iter_records(path, resolved))


# ---------------------------------------------------------------- guessing how to read a file


def detect_format(path: Path) -> str:
    """The file's format, by its first bytes where they are telling (a Parquet file renamed .csv is still
    Parquet), else by its extension."""
    check_ordinary(path)
    if path.is_dir():
        return "folder"
    if path.name.lower() == "dataset_info.json":
        return "registry"
    head = read_head(path, 8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"  # an Excel workbook is a zip archive; any other zip is refused when opened
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise DataError("file.unsupported", file=path.name)
    return found


def check_ordinary(path: Path) -> None:
    """Refuse at once what is not a file or a folder of data: a missing path, a pipe or a device (reading
    one waits forever, or never ends), or a whole disk or home folder given as a folder of texts."""
    try:
        mode = path.stat().st_mode
    except OSError:  # not there, a name too long for the file system, a folder one may not enter
        raise DataError("file.missing", file=path.name or str(path)) from None
    if stat.S_ISDIR(mode):
        resolved = path.resolve()
        if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
            raise DataError("folder.too_wide", folder=str(resolved))
    elif not stat.S_ISREG(mode):
        raise DataError("file.not_ordinary", file=path.name)


def resolve_options(path: str | Path, options: ReadOptions | None = None, *, thorough: bool = False) -> ReadOptions:
    """``options`` with every guess filled in from the file's head.

    ``thorough`` checks the encoding over the whole file (one quick pass over its bytes, never holding
    them), so that a single Windows-1252 character on row 900,000 cannot fail a load half-way through; a
    preview only needs the head.
    """
    path = Path(path)
    options = replace(options or ReadOptions())
    options.format = options.format or detect_format(path)
    if options.format not in FORMATS:
        raise DataError("file.unsupported", file=path.name)
    check_ordinary(path)
    if options.format in ("csv", "tsv", "json", "jsonl") and not options.encoding:
        options.encoding = detect_encoding(path, thorough=thorough)
    if options.format in ("csv", "tsv"):
        if options.format == "tsv" and not options.delimiter:
            options.delimiter = "\t"
        if not options.delimiter or options.header is None:
            text = _head_text(path, options.encoding)
            options.delimiter = options.delimiter or _sniff_delimiter(text)
            if options.header is None:
                rows = _parse_head_rows(text, options.delimiter)
                options.header = bool(rows) and _looks_like_header(rows)
    if options.format == "xlsx" and options.header is None:
        head = _xlsx_head(path)
        options.header = bool(head) and _looks_like_header([[str(cell) for cell in row] for row in head])
    if options.format == "registry" and not options.dataset:
        from engine.data.registry import default_entry

        options.dataset = default_entry(path)
    return options


def _head_text(path: Path, encoding: str) -> str:
    """The first 64 KB of text from the first line that holds anything: a header under thousands of blank
    lines is still the header."""
    try:
        with path.open(encoding=encoding, errors="replace", newline="") as file:
            text, skipped = "", 0
            while len(text) < HEAD_BYTES // 4 and (chunk := file.read(HEAD_BYTES)):
                if not text:
                    stripped = chunk.lstrip(" \t\r\n\0\ufeff")
                    skipped += len(chunk) - len(stripped)
                    if skipped > MAX_LEADING_BLANK:
                        break
                    chunk = stripped
                text += chunk
    except OSError as error:
        raise DataError("file.cannot_open", file=path.name, detail=str(error)) from None
    return text.replace("\0", "")


def _sniff_delimiter(text: str) -> str:
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:  # a single column, or too few rows to tell
        counts = {delimiter: sample.count(delimiter) for delimiter in _CSV_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _parse_head_rows(text: str, delimiter: str) -> list[list[str]]:
    if len(text) >= HEAD_BYTES // 4 and "\n" in text:
        text = text[: text.rindex("\n")]  # the last line of the head may be cut
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= _HEADER_ROWS:
                break
    except csv.Error:
        pass  # the head ends inside a quoted value; the rows so far are enough to judge
    return rows


# ---------------------------------------------------------------- reading rows


def iter_records(path: str | Path, options: ReadOptions) -> Iterator[dict[str, Any]]:
    """The rows of a file whose options are resolved, one at a time."""
    path = Path(path)
    fmt = options.format
    try:
        if fmt in ("csv", "tsv"):
            yield from _iter_delimited(path, options)
        elif fmt == "jsonl":
            yield from _iter_jsonl(path, options.encoding)
        elif fmt == "json":
            yield from _read_json(path, options.encoding)
        elif fmt == "parquet":
            yield from _iter_parquet(path)
        elif fmt == "xlsx":
            yield from _iter_xlsx(path, options.header)
        elif fmt == "folder":
            yield from _iter_folder(path)
        elif fmt == "registry":
            from engine.data.registry import iter_entry

            yield from iter_entry(path, options.dataset)
        else:
            raise DataError("file.unsupported", file=path.name)
    except UnicodeDecodeError:
        # only when the encoding was checked on the head alone (a preview) and the rest differs
        raise DataError("file.mixed_encoding", file=path.name, encoding=options.encoding) from None
    except OSError as error:
        raise DataError("file.cannot_open", file=path.name, detail=str(error)) from None
    except MemoryError:
        raise DataError("file.too_big", file=path.name) from None


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """The file's text lines, NUL characters dropped (they carry nothing, and stray ones are common in
    exports from old databases)."""
    with path.open(encoding=encoding, newline="") as file:
        for line in file:
            yield line.replace("\0", "") if "\0" in line else line


def _iter_delimited(path: Path, options: ReadOptions) -> Iterator[dict[str, Any]]:
    """Rows of a CSV/TSV file. Without a header the columns are called "column 1", "column 2", ... (what a
    spreadsheet would show); with one, the names are made unique."""
    delimiter = options.delimiter or ","
    reader = csv.reader(_lines(path, options.encoding), delimiter=delimiter)
    columns: list[str] | None = None
    rows = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                if options.header:
                    columns = _unique_names([cell.strip() for cell in row])
                    continue
                columns = [f"column {number}" for number in range(1, len(row) + 1)]
            if len(row) > len(columns):
                if not options.header:  # no header: a longer row just has more columns
                    columns += [f"column {number}" for number in range(len(columns) + 1, len(row) + 1)]
                else:
                    raise DataError(
                        "csv.too_many_values", file=path.name, line=reader.line_num, found=len(row),
                        expected=len(columns), delimiter="tab" if delimiter == "\t" else delimiter,
                    )
            rows += 1
            yield dict(zip(columns, row + [""] * (len(columns) - len(row))))
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise DataError("csv.value_too_long", file=path.name, line=reader.line_num,
                            limit=f"{MAX_FIELD_CHARS // 2**20} million") from None
        raise DataError("csv.bad_line", file=path.name, line=reader.line_num, reason=str(error)) from None
    if columns is not None and options.header and not rows:
        raise DataError("file.only_header", file=path.name, columns=shown_list(columns))


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first row names the columns rather than being data.

    A header has no empty cell and no number, and none of its cells appears again below it in the same
    column (a label like "positive" repeats; a column name does not). When nothing speaks against it we
    assume a header, as most files have one and the guessed columns are shown to the user to confirm.
    csv.Sniffer.has_header is not used: it votes "no header" for any file whose columns are free text.
    """
    first, rest = rows[0], rows[1:]
    # A column empty all the way down (the unused columns a spreadsheet exports) says nothing either way.
    used = {column: cell for column, cell in enumerate(first)
            if cell.strip() or any(column < len(row) and row[column].strip() for row in rest)}
    if any(not cell.strip() or _is_number(cell) for cell in used.values()):
        return False
    return not any(column < len(row) and row[column] == cell for column, cell in used.items() for row in rest)


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


# JSON and JSON Lines


def _read_json(path: Path, encoding: str) -> list[dict[str, Any]]:
    text = path.read_text(encoding=encoding).replace("\0", "")
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # one object per line, saved as .json
            return list(_iter_jsonl(path, encoding))
        raise DataError("json.invalid", file=path.name, line=error.lineno, column=error.colno, reason=error.msg) from None
    except RecursionError:
        raise DataError("json.too_deep", file=path.name) from None
    except ValueError:  # Python refuses to read integers of more than 4,300 digits
        raise DataError("json.huge_number", file=path.name) from None
    if _may_hold_surrogates(text):
        data = _without_lone_surrogates(data)
    return _records_in(data, path.name)


def _without_lone_surrogates(value: Any) -> Any:
    """JSON may spell half of a character pair ("\\ud800") alone, which no encoder or tokenizer accepts; such
    a half becomes the replacement character "\ufffd", as any text editor shows it."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)  # json.loads has already joined every proper pair
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    return value


def _may_hold_surrogates(json_text: str) -> bool:
    return "\\ud" in json_text or "\\uD" in json_text


def _records_in(data: Any, name: str) -> list[dict[str, Any]]:
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


def _iter_jsonl(path: Path, encoding: str) -> Iterator[dict[str, Any]]:
    # Text-mode lines end only at \n or \r: not at characters a JSON text may hold (U+2028), as
    # str.splitlines would.
    with path.open(encoding=encoding) as file:
        for line_number, line in enumerate(file, start=1):
            if line_number == 1:
                line = line.lstrip("\ufeff")
            if "\0" in line:
                line = line.replace("\0", "")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError("jsonl.bad_line", file=path.name, line=line_number, reason=error.msg) from None
            except RecursionError:
                raise DataError("json.too_deep", file=path.name) from None
            except ValueError:
                raise DataError("json.huge_number", file=path.name) from None
            if not isinstance(record, dict):
                raise DataError("jsonl.bad_line", file=path.name, line=line_number, reason=f"it holds {describe(record)}")
            yield _without_lone_surrogates(record) if _may_hold_surrogates(line) else record


# Parquet and Excel: optional packages


def _pyarrow_parquet(path: Path) -> Any:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DataError("file.needs_package", file=path.name, package="pyarrow") from None
    return parquet


def _iter_parquet(path: Path) -> Iterator[dict[str, Any]]:
    parquet = _pyarrow_parquet(path)
    try:
        batches = parquet.ParquetFile(path).iter_batches(batch_size=4096)
        for batch in batches:
            yield from batch.to_pylist()
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - pyarrow raises its own error types for damaged files
        raise DataError("file.unreadable", file=path.name, kind="a Parquet file", detail=str(error)) from None


def check_zip(path: Path) -> None:
    """Refuse, before opening it, a zip archive that unpacks to far more than any real workbook."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as error:
        raise DataError("file.unreadable", file=path.name, kind="an Excel file", detail=str(error)) from None
    unpacked = sum(info.file_size for info in infos)
    packed = max(1, sum(info.compress_size for info in infos))
    if unpacked > MAX_XLSX_UNPACKED or (unpacked > 100 * 2**20 and unpacked / packed > MAX_XLSX_RATIO):
        raise DataError("file.zip_bomb", file=path.name, size=f"{unpacked / 2**30:.1f} GB")
    shared = sum(info.file_size for info in infos if info.filename.lower() == "xl/sharedstrings.xml")
    if shared > MAX_XLSX_SHARED_STRINGS:
        raise DataError("file.xlsx_texts_too_big", file=path.name, size=f"{shared / 2**20:,.0f} MB")
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise DataError("file.not_a_table", file=path.name, kind=_zip_kind(names), detail="no workbook inside")


def _zip_kind(names: set[str]) -> str:
    """What a zip archive that is not a workbook holds, as its owner would call it."""
    for inside, kind in (("word/document.xml", "a Word document"), ("ppt/presentation.xml", "a PowerPoint presentation"),
                         ("content.xml", "an OpenDocument file (LibreOffice)")):
        if inside in names:
            return kind
    return "a zip archive"


def _iter_xlsx(path: Path, header: bool | None) -> Iterator[dict[str, Any]]:
    """The first sheet's rows, streamed (openpyxl's read-only mode); empty cells become "", a merged cell's
    value is in its first cell, and the header is guessed as for CSV."""
    try:
        import openpyxl
    except ImportError:
        raise DataError("file.needs_package", file=path.name, package="openpyxl") from None
    check_zip(path)
    # A file object, not the path: openpyxl refuses paths whose extension is not .xlsx, and a workbook
    # saved as ".json" is still a workbook.
    source = path.open("rb")
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as error:  # noqa: BLE001 - openpyxl raises several unrelated types for damaged files
        source.close()
        raise DataError("file.unreadable", file=path.name, kind="an Excel file", detail=str(error)) from None
    try:
        if not workbook.worksheets:
            return
        rows = _sheet_rows(workbook.worksheets[0])
        head = list(itertools.islice(rows, _HEADER_ROWS))
        if len(workbook.worksheets) > 1 and (len(head) < 2 or max(map(len, head)) < 2):
            _refuse_if_data_elsewhere(path, workbook)
        if not head:
            return
        if header is None:
            header = _looks_like_header([[str(cell) for cell in row] for row in head])
        everything = itertools.chain(head, rows)
        if header:
            columns = _unique_names([str(cell).strip() for cell in next(everything)])
        else:
            columns = [f"column {number}" for number in range(1, max(map(len, head)) + 1)]
        count = 0
        for row in everything:
            # trailing empty cells beyond the named columns are formatting, not data
            while len(row) > len(columns) and row[-1] == "":
                row.pop()
            if len(row) > len(columns):
                columns += [f"column {number}" for number in range(len(columns) + 1, len(row) + 1)]
            count += 1
            yield dict(zip(columns, row + [""] * (len(columns) - len(row))))
        if header and not count:
            raise DataError("file.only_header", file=path.name, columns=shown_list(columns))
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged sheet is found while streaming it
        raise DataError("file.unreadable", file=path.name, kind="an Excel file", detail=str(error)) from None
    finally:
        workbook.close()
        source.close()


def _sheet_rows(sheet: Any) -> Iterator[list[Any]]:
    """A sheet's rows that hold anything, empty cells as ""."""
    rows = (["" if cell is None else cell for cell in row] for row in sheet.iter_rows(values_only=True))
    return (row for row in rows if any(str(cell).strip() for cell in row))


def _refuse_if_data_elsewhere(path: Path, workbook: Any) -> None:
    """Only the first sheet is read; when it holds next to nothing (a title, a note) and another sheet holds
    a table, say so by the sheets' names rather than let the columns be guessed from the note."""
    sheets = workbook.worksheets[:50]
    for sheet in sheets[1:]:
        head = list(itertools.islice(_sheet_rows(sheet), 2))
        if len(head) == 2 and max(map(len, head)) >= 2:
            raise DataError("file.xlsx_other_sheet", file=path.name, first=sheets[0].title,
                            sheets=shown_list(f"'{sheet.title}'" for sheet in workbook.worksheets))


def _xlsx_head(path: Path) -> list[list[Any]]:
    """The first rows of the first sheet, read without naming columns (to guess the header)."""
    rows = _iter_xlsx(path, header=False)
    return [list(row.values()) for row in itertools.islice(rows, _HEADER_ROWS)]


# A folder of texts


def _iter_folder(path: Path) -> Iterator[dict[str, Any]]:
    """One row per .txt file under ``path``: its text, and the name of the sub-folder it is in as its label
    (files directly in the folder have no label). Sorted, so the order is the same on every computer."""
    check_ordinary(path)
    files = sorted(_texts_in(path))
    for file in files:
        relative = file.relative_to(path)
        label = relative.parts[0] if len(relative.parts) > 1 else ""
        encoding = detect_encoding(file, thorough=True) if file.stat().st_size else "utf-8"
        text = file.read_text(encoding=encoding).replace("\0", "")
        yield {"text": text.strip(), "label": label, "file": relative.as_posix()}


def _texts_in(folder: Path) -> list[Path]:
    """The .txt files under ``folder``, walked without following links, at most MAX_FOLDER_DEPTH deep and
    MAX_FOLDER_ENTRIES wide."""
    found: list[Path] = []
    seen = 0
    for root, folders, names in os.walk(folder):
        seen += len(folders) + len(names)
        if seen > MAX_FOLDER_ENTRIES:
            raise DataError("folder.too_big", folder=folder.name, limit=f"{MAX_FOLDER_ENTRIES:,}")
        depth = len(Path(root).relative_to(folder).parts)
        if depth >= MAX_FOLDER_DEPTH:
            folders.clear()
        found += [Path(root) / name for name in names if name.lower().endswith(".txt") and (Path(root) / name).is_file()]
    if not found:
        raise DataError("folder.no_texts", folder=folder.name)
    return found
