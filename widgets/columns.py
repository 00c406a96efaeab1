"""Table columns that fit the terminal's width: the widest text columns give up cells first."""

from __future__ import annotations

from collections.abc import Sequence


def fit_widths(widths: Sequence[int], minimums: Sequence[int], available: int, shrinkable: Sequence[int], padding: int = 2) -> list[int]:
    """Column widths whose sum (each with `padding` cells around it) fits in `available` cells.

    The columns at the indexes in `shrinkable` (text whose end can be elided: names, paths) are cut,
    the widest first, down to their `minimums`; the others keep their width. When even the minimums
    do not fit, the result is the minimums (the table scrolls). `available` of 0 or less (a table not
    laid out yet) changes nothing.
    """
    fitted = list(widths)
    if available <= 0:
        return fitted
    over = sum(fitted) + padding * len(fitted) - available
    while over > 0:
        room = [(fitted[i] - minimums[i], i) for i in shrinkable if fitted[i] > minimums[i]]
        if not room:
            break
        _, widest = max(room)
        fitted[widest] -= 1
        over -= 1
    return fitted
