"""Texts whose marks are kept apart from them, by character offsets: brat (a .txt and a .ann per text, in a
folder or a .tar.gz of one) and PubTator (title, abstract and mention lines per article)."""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath

from engine.data.errors import DataError
from engine.data.spans.model import Document, Span
from engine.data.spans.text import decode

#: Larger members of an archive are not tagged text; refusing them keeps a damaged or hostile archive from
#: filling memory.
MEMBER_LIMIT = 64 * 1024 * 1024


def read_brat_folder(folder: Path) -> list[Document]:
    pairs = {}
    for ann in sorted(folder.rglob("*.ann")):
        key = ann.relative_to(folder).with_suffix("").as_posix()
        txt = ann.with_suffix(".txt")
        if not txt.exists():
            raise DataError("spans.ann_without_txt", annotations=key + ".ann", text=txt.name)
        pairs[key] = (txt.read_bytes(), ann.read_bytes())
    if not pairs:
        raise DataError("spans.no_ann", file=folder.name)
    return [brat_document(key, text, ann) for key, (text, ann) in pairs.items()]


def read_brat_archive(path: Path) -> list[Document]:
    texts: dict[str, bytes] = {}
    marks: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:
                suffix = PurePosixPath(member.name).suffix
                if not member.isfile() or suffix not in (".txt", ".ann"):
                    continue  # links, folders, other files: nothing to read, nothing followed
                if member.size > MEMBER_LIMIT:
                    raise DataError("spans.too_big", file=path.name, size=f"{member.size / 2**20:.0f} MB")
                key = PurePosixPath(member.name).with_suffix("").as_posix().removeprefix("./")
                content = archive.extractfile(member).read()
                (texts if suffix == ".txt" else marks)[key] = content
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError("file.unreadable", file=path.name, kind="a .tar.gz archive", detail=str(error)) from None
    if not marks:
        raise DataError("spans.no_ann", file=path.name)
    for key in marks:
        if key not in texts:
            raise DataError("spans.ann_without_txt", annotations=key + ".ann", text=PurePosixPath(key).name + ".txt")
    return [brat_document(key, texts[key], marks[key]) for key in sorted(marks)]


def brat_document(key: str, raw_text: bytes, raw_marks: bytes) -> Document:
    # Offsets count the characters of the file as it is: no newline translation.
    text = decode(raw_text, key + ".txt")
    where_file = key + ".ann"
    spans = []
    for number, line in enumerate(decode(raw_marks, where_file).splitlines(), start=1):
        if not line.startswith("T"):
            continue  # normalisations (N), attributes (A), relations (R), events (E), notes (#)
        fields = line.split("\t")
        match = re.fullmatch(r"(\S+) (\d+ \d+(?:;\d+ \d+)*)", fields[1]) if len(fields) >= 2 else None
        if match is None:
            raise DataError("spans.bad_ann_line", line=number, annotations=where_file)
        kind = match[1]
        pieces = [tuple(map(int, part.split())) for part in match[2].split(";")]
        where = f"Line {number} of {where_file}"
        for start, end in pieces:
            _check_span(where, text, start, end)
        # A discontinuous mark (one name in pieces) becomes one span per piece: a span is a run of characters.
        if len(fields) >= 3:
            _check_covered(where, text, pieces, fields[2])
        spans.extend(Span(start, end, kind) for start, end in pieces)
    return Document(key, text, sorted(spans))


def read_pubtator(text: str, name: str) -> list[Document]:
    documents = []
    for block_start, block in _blocks(text):
        title = abstract = ""
        pmid = ""
        mentions = []
        for offset, line in enumerate(block):
            number = block_start + offset
            if (match := re.match(r"^([^|\t]+)\|([ta])\|(.*)$", line)) is not None:
                pmid = match[1]
                if match[2] == "t":
                    title = match[3]
                else:
                    abstract = match[3]
                continue
            fields = line.split("\t")
            if len(fields) >= 5:
                mentions.append((number, fields))
            # four fields are a relation (PMID, CID, ID, ID): nothing to mark
        document_text = f"{title} {abstract}" if abstract else title
        spans = []
        for number, fields in mentions:
            where = f"Line {number} of {name}"
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise DataError("spans.bad_offsets", where=where, start=fields[1], end=fields[2]) from None
            _check_span(where, document_text, start, end)
            _check_covered(where, document_text, [(start, end)], fields[3])
            if not fields[4].strip():
                raise DataError("spans.no_type", where=where, start=start, end=end)
            spans.append(Span(start, end, fields[4].strip()))
        documents.append(Document(pmid or f"line {block_start}", document_text, sorted(spans)))
    return documents


def looks_like_pubtator(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return re.match(r"^[^|\t\s]+\|[ta]\|", first) is not None


def _blocks(text: str):
    block, start = [], 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _check_span(where: str, text: str, start: int, end: int) -> None:
    if not (0 <= start < end):
        raise DataError("spans.bad_offsets", where=where, start=start, end=end)
    if end > len(text):
        raise DataError("spans.outside_text", where=where, start=start, end=end, length=len(text))


def _check_covered(where: str, text: str, pieces: list[tuple[int, int]], expected: str) -> None:
    found = " ".join(text[start:end] for start, end in pieces)
    if " ".join(found.split()) != " ".join(expected.split()):
        start, end = pieces[0][0], pieces[-1][1]
        raise DataError(
            "spans.text_mismatch", where=where, start=start, end=end, expected=_short(expected), found=_short(found),
        )


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
