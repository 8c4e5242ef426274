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

import codecs
import csv
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from engine.data.errors import DataError, describe

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "xlsx", "folder", "registry")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}
_CSV_DELIMITERS = ",;\t|"
_HEAD_BYTES = 64 * 1024
_SNIFF_CHARS = 16 * 1024  # csv.Sniffer slows down badly on long samples
_HEADER_ROWS = 50  # rows looked at to decide whether the first one is a header
#: Longest single CSV value. Python's default (128 KiB) refuses long documents; past this it is no text
#: anyone means to train on, and reading on would only use memory.
MAX_FIELD_CHARS = 16 * 2**20
#: An .xlsx is a zip archive; one that unpacks to more than this is refused unopened (a "zip bomb").
MAX_XLSX_UNPACKED = 2 * 2**30
MAX_XLSX_RATIO = 200

csv.field_size_limit(MAX_FIELD_CHARS)


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
    if path.is_dir():
        return "folder"
    if not path.is_file():
        raise DataError("file.missing", file=path.name)
    if path.name.lower() == "dataset_info.json":
        return "registry"
    head = _read_head(path, 8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"  # an Excel workbook is a zip archive; any other zip is refused when opened
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise DataError("file.unsupported", file=path.name)
    return found


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
    if not path.exists():
        raise DataError("file.missing", file=path.name)
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


def detect_encoding(path: Path, *, thorough: bool = False) -> str:
    """The encoding people's files actually use, from the byte-order mark or by trying.

    UTF-16 is taken when the file starts with its byte-order mark (Excel's "Unicode text" export) or when
    every other byte of an ASCII-looking head is zero; then UTF-8 (with or without a mark); then
    Windows-1252, which Excel on Windows writes for "CSV"; and finally Latin-1, which can decode any bytes
    at all, so a text file is never refused for its encoding. A file that is not text is refused here.
    """
    head = _read_head(path, _HEAD_BYTES)
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        if not _decodes(path, head, "utf-16", thorough):
            raise DataError("file.unreadable", file=path.name, kind="a UTF-16 text file", detail="")
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = _utf16_without_mark(head) or ""
        if encoding:
            return encoding
        _refuse_binary(path, head)
        encoding = "utf-8"
    for candidate in (encoding, "cp1252"):
        if _decodes(path, head, candidate, thorough):
            return candidate
    return "latin-1"


def _utf16_without_mark(head: bytes) -> str | None:
    sample = head[: 4096 - 4096 % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


_MAGIC = [(b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
          (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"), (b"\xd0\xcf\x11\xe0", "an old Office (.xls/.doc) file"),
          (b"7z\xbc\xaf", "a 7-Zip archive"), (b"\x7fELF", "a program")]


def _refuse_binary(path: Path, head: bytes) -> None:
    """A DataError for a file that is not text at all (a picture or program renamed .csv)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise DataError("file.binary", file=path.name, kind=kind)
    control = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\v\x1a")
    if head and control > max(2, len(head) // 100):
        raise DataError("file.binary", file=path.name, kind="something other than text")


def _decodes(path: Path, head: bytes, encoding: str, thorough: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        if not thorough:
            decoder.decode(head, final=len(head) < _HEAD_BYTES)
            return True
        with path.open("rb") as file:
            while chunk := file.read(2**20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


def _read_head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(size)
    except OSError as error:  # no permission, or locked by Excel on Windows
        raise DataError("file.cannot_open", file=path.name, detail=str(error)) from None


def _head_text(path: Path, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(_read_head(path, _HEAD_BYTES)).replace("\0", "")


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
    if len(text) >= _HEAD_BYTES // 4 and "\n" in text:
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
        raise DataError("file.only_header", file=path.name, columns=", ".join(columns))


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
    return _records_in(data, path.name)


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
            if not isinstance(record, dict):
                raise DataError("jsonl.bad_line", file=path.name, line=line_number, reason=f"it holds {describe(record)}")
            yield record


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
        rows = (
            ["" if cell is None else cell for cell in row]
            for row in workbook.worksheets[0].iter_rows(values_only=True)
        )
        rows = (row for row in rows if any(str(cell).strip() for cell in row))
        head = list(itertools.islice(rows, _HEADER_ROWS))
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
            raise DataError("file.only_header", file=path.name, columns=", ".join(columns))
    except DataError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged sheet is found while streaming it
        raise DataError("file.unreadable", file=path.name, kind="an Excel file", detail=str(error)) from None
    finally:
        workbook.close()
        source.close()


def _xlsx_head(path: Path) -> list[list[Any]]:
    """The first rows of the first sheet, read without naming columns (to guess the header)."""
    rows = _iter_xlsx(path, header=False)
    return [list(row.values()) for row in itertools.islice(rows, _HEADER_ROWS)]


# A folder of texts


def _iter_folder(path: Path) -> Iterator[dict[str, Any]]:
    """One row per .txt file under ``path``: its text, and the name of the sub-folder it is in as its label
    (files directly in the folder have no label). Sorted, so the order is the same on every computer."""
    files = sorted(file for file in path.rglob("*.txt") if file.is_file())
    if not files:
        raise DataError("folder.no_texts", folder=path.name)
    for file in files:
        relative = file.relative_to(path)
        label = relative.parts[0] if len(relative.parts) > 1 else ""
        encoding = detect_encoding(file, thorough=True) if file.stat().st_size else "utf-8"
        text = file.read_text(encoding=encoding).replace("\0", "")
        yield {"text": text.strip(), "label": label, "file": relative.as_posix()}
