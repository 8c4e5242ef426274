"""From character spans to a label per sub-word piece, and from per-word predictions back to spans.

A text is cut into the tokenizer's pieces once. Each word (the tokenizer's own word split) is labelled on
its first piece, B- where a name begins and I- inside it; the other pieces of a word are not scored, so a
long word counts once, as in the usual token-classification recipe. A text longer than the model reads is
cut into windows that overlap by half; each word is predicted from the window where it sits most centrally,
so no word is ever predicted without context on both sides (except at the text's own ends), and nothing is
cut off.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.data.spans.model import Document, ScoredSpan, Span, widen_to_words, without_overlaps

IGNORED = -100


def label_names(types: list[str]) -> list[str]:
    return ["O"] + [f"{prefix}-{kind}" for kind in types for prefix in ("B", "I")]


@dataclass
class Words:
    """One text in the tokenizer's pieces: the pieces' ids, and each word's characters and first piece."""

    ids: list[int]
    starts: list[int]  # character where each word starts
    ends: list[int]
    first_piece: list[int]  # index into ids


@dataclass
class Window:
    document: int
    offset: int  # index of the window's first piece in the document's pieces
    input_ids: list[int]  # with the model's special tokens
    labels: list[int]  # per input id: a label index on a word's first piece, else IGNORED


def split_words(tokenizer, texts: list[str]) -> list[Words]:
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    result = []
    for index in range(len(texts)):
        word_ids = encoded.word_ids(index)
        offsets = encoded["offset_mapping"][index]
        starts, ends, first = [], [], []
        previous = None
        for piece, (word, (start, end)) in enumerate(zip(word_ids, offsets)):
            if word is None:
                continue
            if word != previous:
                starts.append(start), ends.append(end), first.append(piece)
            else:
                ends[-1] = max(ends[-1], end)
            previous = word
        result.append(Words(encoded["input_ids"][index], starts, ends, first))
    return result


def word_labels(words: Words, spans: list[Span], index: dict[str, int]) -> list[int]:
    """B-/I- per word from spans (grown to whole words; where spans overlap, the longest)."""
    labels = [0] * len(words.starts)
    kept, _ = without_overlaps(spans)
    position = 0
    for span in kept:
        inside = False
        while position < len(words.starts) and words.starts[position] < span.end:
            if words.ends[position] > span.start:
                labels[position] = index[f"{'I' if inside else 'B'}-{span.type}"]
                inside = True
            position += 1
    return labels


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the model expects before and after a text ([CLS] and [SEP] for BERT), read off the tokenizer's
    own output so every model family gets its own."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    at = next(i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain)
    return full[:at], full[at + len(plain) :]


def windows(tokenizer, document: int, words: Words, labels: list[int] | None, max_length: int) -> list[Window]:
    """The text's pieces in windows of at most `max_length` with the special tokens, overlapping by half."""
    before, after = special_tokens(tokenizer)
    size = max(2, max_length - len(before) - len(after))
    piece_labels = [IGNORED] * len(words.ids)
    if labels is not None:
        for label, piece in zip(labels, words.first_piece):
            piece_labels[piece] = label
    starts = [0] if len(words.ids) <= size else list(range(0, len(words.ids) - size, size // 2)) + [len(words.ids) - size]
    result = []
    for start in starts:
        ids = before + words.ids[start : start + size] + after
        labelled = [IGNORED] * len(before) + piece_labels[start : start + size] + [IGNORED] * len(after)
        result.append(Window(document, start - len(before), ids, labelled))
    return result


def best_window_per_piece(document_windows: list[Window], pieces: int) -> list[tuple[int, int]]:
    """For each piece of a text: (which of its windows, position inside it) where the piece is most central."""
    choice = [(0, 0)] * pieces
    margin = [-1] * pieces
    for number, window in enumerate(document_windows):
        for position in range(len(window.input_ids)):  # special tokens too: no piece ever maps to them
            piece = window.offset + position
            if 0 <= piece < pieces:
                distance = min(position, len(window.input_ids) - 1 - position)
                if distance > margin[piece]:
                    margin[piece], choice[piece] = distance, (number, position)
    return choice


def decode_words(words: Words, word_labels: list[int], confidences: list[float], names: list[str]) -> list[ScoredSpan]:
    """Spans from a label per word (an I- that does not continue a name of its type starts one, as conlleval
    reads it); a span's confidence is the mean of its words'."""
    spans: list[ScoredSpan] = []
    current: tuple[str, int, int, list[float]] | None = None
    for word, (label, confidence) in enumerate(zip(word_labels, confidences)):
        name = names[label]
        prefix, _, kind = name.partition("-")
        if current is not None and (prefix != "I" or kind != current[0]):
            spans.append(ScoredSpan(current[1], current[2], current[0], sum(current[3]) / len(current[3])))
            current = None
        if prefix == "O":
            continue
        if current is None:
            current = (kind, words.starts[word], words.ends[word], [confidence])
        else:
            current = (kind, current[1], words.ends[word], current[3] + [confidence])
    if current is not None:
        spans.append(ScoredSpan(current[1], current[2], current[0], sum(current[3]) / len(current[3])))
    return spans


def gold_spans(document: Document) -> list[Span]:
    """The spans a prediction is scored against: as marked, grown to whole words."""
    return sorted({widen_to_words(document.text, span) for span in document.spans})
