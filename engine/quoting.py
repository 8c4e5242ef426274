"""User text inside our own sentences: a column name, a label, a file name, a setting's value.

Whatever a person's file holds ends up quoted in what we say about it ("the column 'x' ..."). A header
of control characters, a label of a million characters or a text with a lone surrogate would otherwise
make that sentence unreadable, several lines long, or impossible to print. Every sentence that quotes
user text passes it through ``shown`` (one value) or ``shown_list`` (several), so the sentence stays one
short printable line whatever the file held.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The longest piece of user text quoted in a sentence, in characters.
LIMIT = 60
#: The most characters a list of values takes in a sentence before "and N more".
LIST_CHARS = 160
ELLIPSIS = "…"


def shown(value: object, limit: int = LIMIT) -> str:
    """``value`` as text fit to quote: one line, printable characters only, at most ``limit`` characters.

    Line breaks, tabs and other control or invisible characters (a right-to-left override, a lone
    surrogate) become spaces, runs of spaces one space; a longer text is cut and ends in "…".
    """
    text = value if isinstance(value, str) else str(value)
    head = text[: limit * 4 + 1]  # never walk a megabyte to show sixty characters of it
    cleaned = " ".join("".join(char if char.isprintable() else " " for char in head).split())
    if len(cleaned) > limit or len(text) > len(head):
        return cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


def shown_list(values: Iterable[object], limit: int = 40, budget: int = LIST_CHARS) -> str:
    """Several values, each ``shown``, joined with commas, as many as fit in ``budget`` characters: "a, b,
    c and 40 more"."""
    values = list(values)
    listed: list[str] = []
    for value in values:
        piece = shown(value, limit)
        if listed and sum(len(item) + 2 for item in listed) + len(piece) > budget:
            break
        listed.append(piece)
    rest = len(values) - len(listed)
    return ", ".join(listed) + (f" and {rest} more" if rest else "")
