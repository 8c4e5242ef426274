"""Which pictures a data set holds and their categories, as people keep them:

- a folder with one sub-folder per category (pictures may sit deeper inside a category's folder; a folder that
  only holds one folder is looked into),
- a CSV or Excel sheet with a column of picture files (relative to the sheet) and a column of categories; a
  list of categories in a cell (`["cat", "dog"]`, or `cat; dog`) means several per picture,
- a zip of either, unpacked once into a folder of its own.

Nothing is decoded here (that is pictures.py): this only lists files, so a folder of 100,000 pictures is
listed in a moment. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine.data.errors import DataError
from engine.images.pictures import is_picture_name

#: More files than this in a folder is not a data set (a whole disk, a photo library).
MAX_FILES = 500_000
#: A zip of pictures unpacks to at most this much.
MAX_UNPACKED = 20 * 2**30
TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm")
PATH_NAMES = ("path", "paths", "file", "filename", "file_name", "image", "image_path", "picture", "img", "filepath")
LABEL_NAMES = ("label", "labels", "category", "categories", "class", "target", "tag", "tags", "diagnosis", "view")


@dataclass
class Example:
    path: str  # where the file is on this computer
    labels: list[str]
    shown: str  # how the person knows it: relative to their folder, or the zip's member name


@dataclass
class ImageSet:
    source: str
    format: str  # "image folder", "image table" (CSV, Excel), "zip of an image folder", "zip of an image table"
    examples: list[Example]
    multi_label: bool = False
    #: (shown path, sentence) of entries that cannot be used (not in a category folder, a missing file)
    left_out: list[tuple[str, str]] = field(default_factory=list)
    path_column: str = ""
    label_column: str = ""

    @property
    def label_names(self) -> list[str]:
        return sorted({label for example in self.examples for label in example.labels})

    def counts(self) -> dict[str, int]:
        counted = Counter(label for example in self.examples for label in example.labels)
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


# ---------------------------------------------------------------- recognising


def looks_like_images(path: str | Path) -> bool:
    """Whether `path` is a picture data set, told from a quick look: a folder (or zip) whose files are mostly
    pictures, or a table whose first rows name picture files."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        names = _some_files(path, 200)
        return bool(names) and sum(map(is_picture_name, names)) >= max(1, len(names) // 2)
    if not stat.S_ISREG(mode):
        return False
    suffix = path.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist()[:2000] if not n.endswith("/")]
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        pictures = sum(map(is_picture_name, names))
        tables = [n for n in names if n.lower().endswith(TABLE_SUFFIXES)]
        return pictures > 0 and (pictures >= len(names) // 2 or bool(tables))
    if suffix in TABLE_SUFFIXES:
        try:
            rows = _table_rows(path, limit=20)
        except Exception:  # noqa: BLE001 - whatever is wrong with the file, the table reader says it, not this guess
            return False
        return bool(rows) and bool(_path_column(rows))
    return False


def _some_files(folder: Path, limit: int) -> list[str]:
    found: list[str] = []
    for _, _, files in os.walk(folder):
        found += [name for name in files if not name.startswith(".")]
        if len(found) >= limit:
            break
    return found[:limit]


# ---------------------------------------------------------------- reading


def read_image_set(path: str | Path) -> ImageSet:
    """The pictures of a data set and their categories; DataError when there are none."""
    path = Path(path)
    if path.is_dir():
        found = _read_folder(path, path.name)
    elif path.suffix.lower() == ".zip":
        found = _read_zip(path)
    elif path.suffix.lower() in TABLE_SUFFIXES:
        found = _read_table(path)
    else:
        raise DataError("images.no_pictures", file=path.name)
    if not found.examples and found.left_out:  # a table of files that are all missing, say: why, not "no pictures"
        raise DataError("images.none_usable", file=path.name, count=len(found.left_out), first=found.left_out[0][1])
    if not found.examples:
        raise DataError("images.no_pictures", file=path.name)
    found.multi_label = found.multi_label or any(len(example.labels) > 1 for example in found.examples)
    return found


def _read_folder(folder: Path, shown_root: str, fmt: str = "image folder") -> ImageSet:
    root = folder
    while True:  # a folder that holds one folder and nothing else (a zip's top folder, "dataset/"): look inside
        entries = [e for e in _entries(root) if not e.name.startswith(".")]
        folders = [e for e in entries if e.is_dir()]
        inner = [e for e in _entries(Path(folders[0].path)) if not e.name.startswith(".")] if len(folders) == 1 else []
        holds_categories = sum(e.is_dir() for e in inner) >= 2 or not any(e.is_file() and is_picture_name(e.name) for e in inner)
        if len(entries) == 1 and len(folders) == 1 and holds_categories:  # (one folder of pictures is one category)
            root = Path(folders[0].path)
            continue
        break
    tables = sorted(Path(e.path) for e in entries if e.is_file() and e.name.lower().endswith(TABLE_SUFFIXES))
    for table in tables:  # a table of picture files beside them says their categories
        try:
            if _path_column(_table_rows(table, limit=20)):
                return _read_table(table, shown_root=shown_root, fmt="zip of an image table" if fmt.startswith("zip") else "image table")
        except (DataError, OSError, ValueError):
            continue
    result = ImageSet(str(folder), fmt, [])
    seen = set()
    count = 0
    for current, directories, files in os.walk(root, followlinks=True):
        real = os.path.realpath(current)
        if real in seen:  # a link back up the tree: walked once, never round in circles
            result.left_out.append((os.path.relpath(current, root), DataError("images.loop", folder=shown_root, link=os.path.relpath(current, root)).args[0]))
            directories[:] = []
            continue
        seen.add(real)
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        relative = Path(current).relative_to(root)
        for name in sorted(files):
            count += 1
            if count > MAX_FILES:
                raise DataError("images.too_many", folder=shown_root, limit=f"{MAX_FILES:,}")
            if name.startswith(".") or not is_picture_name(name):
                continue
            shown = str(Path(shown_root) / relative / name)
            if not relative.parts:
                result.left_out.append((shown, str(DataError("images.not_in_category", file=shown))))
                continue
            result.examples.append(Example(str(Path(current) / name), [relative.parts[0]], shown))
    return result


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as scan:
            return sorted(scan, key=lambda e: e.name)
    except OSError:
        return []


def _read_zip(path: Path) -> ImageSet:
    folder = unpacked(path)
    found = _read_folder(folder, path.name, fmt="zip of an image folder")
    found.source = str(path)
    return found


def unpacked(path: Path) -> Path:
    """The zip unpacked into a folder of its own (once per version of the file), entry names checked first."""
    stamp = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stamp.st_size}|{stamp.st_mtime_ns}".encode()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / "tunewright-pictures" / key
    if (target / ".complete").exists():
        return target
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError("file.unreadable", file=path.name, kind="a zip file") from error
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if sum(m.file_size for m in members) > MAX_UNPACKED:
            raise DataError("images.zip_too_big", file=path.name, size=f"{MAX_UNPACKED / 2**30:.0f} GB")
        for member in members:
            name = Path(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise DataError("images.zip_unsafe", file=path.name, entry=member.filename)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for member in members:
            if stat.S_ISLNK(member.external_attr >> 16):
                continue  # links inside a zip are not followed
            destination = partial / member.filename
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, destination.open("wb") as written:
                shutil.copyfileobj(source, written)
    (partial / ".complete").write_text("", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


# ---------------------------------------------------------------- tables of picture files


def _table_rows(path: Path, limit: int | None = None) -> list[dict]:
    from engine.data.formats import head_records, iter_records, resolve_options

    if limit is not None:
        return head_records(path, None, limit)[1]
    return list(iter_records(path, resolve_options(path, None, thorough=True)))


def _path_column(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    picture_like = [c for c in columns if sum(isinstance(r.get(c), str) and is_picture_name(r[c].strip()) for r in rows) >= max(1, len(rows) // 2)]
    named = [c for c in picture_like if c.lower() in PATH_NAMES]
    return (named or picture_like or [""])[0]


def _label_column(rows: list[dict], path_column: str) -> str:
    columns = [c for c in dict.fromkeys(key for row in rows for key in row) if c != path_column]
    named = [c for c in columns if c.lower() in LABEL_NAMES]
    if named:
        return named[0]
    repeating = [c for c in columns if len({json.dumps(r.get(c), default=str) for r in rows}) < len(rows)]
    return (repeating or columns or [""])[0]


def cell_labels(value: object) -> list[str]:
    """A cell's categories: one, or several as a list (a JSON list, or names separated by ; or |)."""
    if value is None:
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list):
        values = value
    else:
        text = str(value).strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                values = json.loads(text)
            except ValueError:
                values = [part.strip(" '\"") for part in text[1:-1].split(",")]
            if not isinstance(values, list):
                values = [text]
        elif ";" in text or "|" in text:
            values = text.replace("|", ";").split(";")
        else:
            values = [text]
    return list(dict.fromkeys(str(v).strip() for v in values if v is not None and str(v).strip()))


def _read_table(path: Path, shown_root: str = "", fmt: str = "image table") -> ImageSet:
    rows = _table_rows(path)
    path_column = _path_column(rows[:200])
    if not path_column:
        raise DataError("images.no_path_column", file=path.name, available=", ".join(map(str, list(rows[0]) if rows else [])))
    label_column = _label_column(rows[:200], path_column)
    if not label_column:
        raise DataError("images.no_label_column", file=path.name, column=path_column)
    base = path.parent.resolve()
    result = ImageSet(str(path), fmt, [], path_column=path_column, label_column=label_column)
    for row in rows:
        given = str(row.get(path_column) or "").strip()
        if not given:
            continue
        file = (base / given).resolve()
        shown = str(row.get("shown") or "") or (str(Path(shown_root) / given) if shown_root else given)
        if not file.is_relative_to(base) and not Path(given).is_absolute():
            result.left_out.append((shown, str(DataError("images.outside", table=path.name, file=given))))
            continue
        if not file.is_file():
            result.left_out.append((shown, str(DataError("images.missing", table=path.name, file=given))))
            continue
        raw = row.get(label_column)
        labels = cell_labels(raw)
        result.multi_label = result.multi_label or isinstance(raw, list) or (isinstance(raw, str) and (raw.strip().startswith("[") or ";" in raw or "|" in raw))
        result.examples.append(Example(str(file), labels, shown))
    return result
