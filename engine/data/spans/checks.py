"""The data doctor for tagged text: what an engineer would look for before training a tagger, each with how
many marks or texts it concerns, a few examples, and what training will do about it or how to fix it.

Nothing here imports torch: the tokenizer, when there is one, is passed in.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from engine.data.doctor import Finding
from engine.data.spans import TaggedData, read_tagged
from engine.data.spans.model import Document, Span, entity_types, widen_to_words, without_overlaps
from engine.protocol import MESSAGES

EXAMPLES = 3
#: A kind of name marked fewer times than this is too rare to learn.
MIN_PER_TYPE = 10


def examine_tagged(path: str | Path, eval_path: str | Path | None = None, tokenizer: Any = None, max_length: int = 256) -> list[Finding]:
    data = read_tagged(path)
    held_out = read_tagged(eval_path).documents if eval_path else []
    return check_documents(data, held_out, tokenizer, max_length)


def check_documents(data: TaggedData, held_out: list[Document], tokenizer: Any = None, max_length: int = 256) -> list[Finding]:
    documents = data.documents
    findings = []
    types = entity_types(documents)
    with_names = sum(bool(d.spans) for d in documents)
    findings.append(_finding("doctor.spans.types", len(types), [], types=", ".join(f"{k} {n}" for k, n in types.items()) or "none", documents=len(documents)))

    empty = [d for d in documents if not d.text.strip()]
    if empty:
        findings.append(_finding("doctor.spans.empty", len(empty), [d.id for d in empty]))

    cut = [(d, s) for d in documents for s in d.spans if widen_to_words(d.text, s) != s]
    if cut:
        findings.append(_finding("doctor.spans.cut_words", len(cut), [_quote(d, s, widened=True) for d, s in cut]))

    overlapping = [(d, dropped) for d in documents if (dropped := without_overlaps(d.spans)[1])]
    if overlapping:
        findings.append(_finding(
            "doctor.spans.overlapping", sum(len(s) for _, s in overlapping),
            [_quote(d, s[0]) for d, s in overlapping], documents=len(overlapping),
        ))

    if data.inside_without_begin:
        findings.append(_finding("doctor.spans.inside_without_begin", len(data.inside_without_begin), data.inside_without_begin))

    inconsistent = _inconsistently_marked(documents)
    if inconsistent:
        findings.append(_finding("doctor.spans.inconsistent", len(inconsistent), [f"'{w}' ({where})" for w, where in inconsistent]))

    rare = [f"{kind} ({count})" for kind, count in types.items() if count < MIN_PER_TYPE]
    if rare:
        findings.append(_finding("doctor.spans.rare_type", len(rare), rare, minimum=MIN_PER_TYPE))

    if with_names < len(documents):
        findings.append(_finding("doctor.spans.no_entities", len(documents) - with_names, [], documents=len(documents)))

    if held_out:
        seen = {_normal(d.text) for d in documents}
        repeated = [d for d in held_out if _normal(d.text) in seen and d.text.strip()]
        if repeated:
            findings.append(_finding("doctor.spans.overlap", len(repeated), [d.id for d in repeated], eval_documents=len(held_out)))

    if tokenizer is not None:
        lengths = tokenizer([d.text for d in documents], add_special_tokens=True, truncation=False)["input_ids"]
        long = [d.id for d, ids in zip(documents, lengths) if len(ids) > max_length]
        if long:
            findings.append(_finding("doctor.spans.windows", len(long), long, max_length=max_length, documents=len(documents)))

    if len(findings) == 1 + (with_names < len(documents)):
        findings.append(_finding("doctor.spans.all_good", len(documents), []))
    return findings


WORD = re.compile(r"\w+|[^\w\s]")


def _inconsistently_marked(documents: list[Document]) -> list[tuple[str, str]]:
    """Strings marked somewhere that also stand unmarked, as whole words, somewhere else (case ignored)."""
    marked: Counter[tuple[str, ...]] = Counter()
    for document in documents:
        for span in document.spans:
            words = tuple(w.lower() for w in WORD.findall(document.covered(span)))
            if words and len("".join(words)) > 2:
                marked[words] += 1
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for words in sorted(marked, key=len, reverse=True):  # longest first: "colon cancer" before "cancer"
        by_first.setdefault(words[0], []).append(words)
    unmarked: dict[tuple[str, ...], str] = {}
    for document in documents:
        tokens = [(m.group(0).lower(), m.start(), m.end()) for m in WORD.finditer(document.text)]
        covered = [(s.start, s.end) for s in document.spans]
        for at, (token, start, _) in enumerate(tokens):
            for words in by_first.get(token, ()):
                if tuple(t[0] for t in tokens[at : at + len(words)]) == words:
                    end = tokens[at + len(words) - 1][2]
                    if not any(a < end and start < b for a, b in covered):
                        unmarked.setdefault(words, document.id)
                    break
    return [(" ".join(words), where) for words, where in sorted(unmarked.items(), key=lambda item: -marked[item[0]])]


def _quote(document: Document, span: Span, widened: bool = False) -> str:
    text = f"'{document.covered(span)}'"
    if widened:
        text += f" in '{document.covered(widen_to_words(document.text, span))}'"
    return f"{text} ({document.id})"


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def _finding(code: str, count: int, examples: list[str], **values: Any) -> Finding:
    declared = MESSAGES[code]
    shown = ", ".join(map(str, examples[:EXAMPLES]))
    return Finding(
        code, str(declared.level), count, [], declared.format(count=count, examples=shown, **values),
        values={**values, "examples": list(map(str, examples[:EXAMPLES]))},
    )
