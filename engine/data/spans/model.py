"""Tagged text as one representation: documents, each a text with character spans (start, end, type).

Every reader in this package produces these, whatever the file looked like (tokens with BIO tags, brat
standoff, PubTator, BioC, the JSON of annotation tools), so checks, training, scoring and saving deal with
one shape only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Span:
    start: int  # character offset of the first character
    end: int  # one past the last character, as in Python slices
    type: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class Document:
    id: str  # where it came from, as a person would look it up: "train/8528200" or "sentence 12"
    text: str
    spans: list[Span] = field(default_factory=list)

    def covered(self, span: Span) -> str:
        return self.text[span.start : span.end]


@dataclass(frozen=True)
class ScoredSpan(Span):
    """A predicted span with how sure the model is of it (0..1)."""

    confidence: float = 1.0


def entity_types(documents: list[Document]) -> dict[str, int]:
    """Each entity type and how many spans have it, most common first."""
    counts: dict[str, int] = {}
    for document in documents:
        for span in document.spans:
            counts[span.type] = counts.get(span.type, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def without_overlaps(spans: list[Span]) -> tuple[list[Span], list[Span]]:
    """The spans a one-tag-per-word model can learn, and those it cannot: where spans overlap or nest,
    the longest is kept (the first one on a tie) and the others are set aside."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start, s.type)):
        if not any(span.overlaps(other) for other in kept):
            kept.append(span)
    kept.sort()
    dropped = sorted(set(spans) - set(kept))
    return kept, dropped


def widen_to_words(text: str, span: Span) -> Span:
    """The span grown to whole words where it starts or ends inside one ("disorde" in "disorder"): a model
    tags whole words, so a mark that cuts through a word is learned as the whole word."""
    start, end = span.start, span.end
    while 0 < start and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return span if (start, end) == (span.start, span.end) else Span(start, end, span.type)
