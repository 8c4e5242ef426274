"""One word per line with its tag (CoNLL, BIO/IOB, BIOES/BILOU, or bare types), a blank line between
sentences; `-DOCSTART-` lines and `#` comments are skipped. The word is the first column and the tag the last,
so CoNLL-2003's four columns and a two-column TSV read alike. Each sentence becomes a document whose text is
its words joined by spaces."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.data.errors import DataError
from engine.data.spans.model import Document, Span

PREFIXES = {"B", "I", "E", "S", "L", "U"}
# The families of prefixes; a file uses one. BILOU's L/U are BIOES's E/S under other names.
SCHEME_OF = {"B": "BIO", "I": "BIO", "E": "BIOES", "S": "BIOES", "L": "BILOU", "U": "BILOU"}
TAG = re.compile(r"^(?:(?P<prefix>[BIESLU])[-_](?P<type>\S+)|(?P<suffix_type>\S+)-(?P<suffix>[BIESLU])|(?P<bare>\S+))$")


@dataclass
class Tagged:
    """The documents of a token-per-line file, and what its reading noticed."""

    documents: list[Document]
    scheme: str
    # document ids where an entity begins with I- (or E-) rather than B-, read as its start
    inside_without_begin: list[str] = field(default_factory=list)


def looks_like_conll(lines: list[str]) -> bool:
    rows = [line.split() for line in lines if line.strip() and not line.startswith(("#", "-DOCSTART-"))]
    # Most lines, not all: a file with one broken line is still this format, and is told what is wrong there.
    tagged = sum(len(row) >= 2 and _parse(row[-1]) is not None for row in rows)
    return bool(rows) and tagged >= 0.5 * len(rows) and any(row[-1] == "O" or row[-1][:2] in ("B-", "S-", "U-", "I-") for row in rows)


def read_conll(text: str, name: str) -> Tagged:
    documents: list[Document] = []
    words: list[str] = []
    tags: list[tuple[str, str, int]] = []  # (prefix, type, line)
    first_line = 0
    schemes: dict[str, tuple[str, int]] = {}  # scheme -> (an example tag, its line)
    orphans: list[str] = []

    def close() -> None:
        nonlocal words, tags
        if words:
            document, orphan = _document(f"line {first_line}", words, tags)
            documents.append(document)
            if orphan:
                orphans.append(document.id)
        words, tags = [], []

    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            close()
            continue
        columns = stripped.split("\t") if "\t" in stripped else stripped.split()
        if columns[0].startswith("-DOCSTART-"):
            close()
            continue
        if len(columns) < 2:
            if stripped.startswith("#"):
                continue
            raise DataError("spans.no_tag", file=name, line=number)
        parsed = _parse(columns[-1].strip())
        if parsed is None:
            if stripped.startswith("#"):
                continue  # a comment such as "# sent_id = 3"
            raise DataError("spans.bad_tag", file=name, line=number, tag=columns[-1].strip())
        prefix, kind = parsed
        scheme = "suffix" if prefix.islower() else SCHEME_OF.get(prefix, "IO" if kind else "")
        if scheme:
            schemes.setdefault(scheme, (columns[-1].strip(), number))
        if not words:
            first_line = number
        words.append(columns[0].strip())
        tags.append((prefix.upper(), kind, number))
    close()
    _one_scheme(schemes, name)
    if not any(document.text.strip() for document in documents):
        raise DataError("spans.no_documents", file=name)
    scheme = next((s for s in ("BIOES", "BILOU", "BIO", "IO", "suffix") if s in schemes), "BIO")
    return Tagged(documents, scheme, orphans)


def _parse(tag: str) -> tuple[str, str] | None:
    """(prefix, type): ("B", "Disease"), ("O", ""), ("", "Disease") for a bare type, ("b", ...) for the
    suffix form "Disease-B"; None when it cannot be a tag."""
    if tag in ("O", "0"):
        return "O", ""
    match = TAG.match(tag)
    if match is None:
        return None
    if match["prefix"]:
        return match["prefix"], match["type"]
    if match["suffix"]:
        return match["suffix"].lower(), match["suffix_type"]
    bare = match["bare"]
    # A bare type is a word of letters (PER, Disease, gene_name); punctuation or digits alone are not tags.
    return ("", bare) if re.fullmatch(r"[A-Za-z][\w.:]*", bare) else None


def _one_scheme(schemes: dict[str, tuple[str, int]], name: str) -> None:
    families = set(schemes)
    # I- with E-/S- is BIOES; B/I alone are also valid BIOES; only different families clash.
    if "BIO" in families and families & {"BIOES", "BILOU"}:
        families.discard("BIO")
    if len(families) > 1:
        (first, (tag1, line1)), (second, (tag2, line2)) = sorted(schemes.items(), key=lambda item: item[1][1])[:2]
        raise DataError(
            "spans.mixed_schemes", file=name, first=f"'{tag1}'", first_line=line1, second=f"'{tag2}'", second_line=line2,
        )


def _document(identifier: str, words: list[str], tags: list[tuple[str, str, int]]) -> tuple[Document, bool]:
    """Words joined by single spaces, and the spans their tags describe (conlleval's reading: an I- or E- that
    does not continue an entity of its type starts one)."""
    offsets, position = [], 0
    for word in words:
        offsets.append((position, position + len(word)))
        position += len(word) + 1
    spans: list[Span] = []
    open_type, open_start, last_end = "", 0, 0
    orphan = False

    def close() -> None:
        nonlocal open_type
        if open_type:
            spans.append(Span(open_start, last_end, open_type))
        open_type = ""

    for (start, end), (prefix, kind, _) in zip(offsets, tags):
        if prefix == "O":
            close()
            continue
        prefix = {"L": "E", "U": "S"}.get(prefix, prefix)
        continues = open_type == kind and prefix in ("I", "E", "")
        if prefix in ("B", "S") or not continues:
            close()
            if prefix in ("I", "E"):
                orphan = True
            open_type, open_start = kind, start
        last_end = end
        if prefix in ("E", "S"):
            close()
    close()
    return Document(identifier, " ".join(words), spans), orphan
