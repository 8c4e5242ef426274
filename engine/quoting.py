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
#: The most values a sentence lists before "and N more".
MAX_LISTED = 12
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


def shown_list(values: Iterable[object], limit: int = LIMIT, most: int = MAX_LISTED) -> str:
    """Several values, each ``shown``, joined with commas: "a, b, c and 40 more"."""
    values = list(values)
    listed = ", ".join(shown(value, limit) for value in values[:most])
    return listed + (f" and {len(values) - most} more" if len(values) > most else "")
