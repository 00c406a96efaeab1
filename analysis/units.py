"""Sizes as people write them (`20MB`, `1.5GiB`) and as uvscope writes them (`75.6 MB`): the one place for both.

`parse_size` reads a size (the CI rules, the session's filters); `size` writes one, in SI units as docker
and dive print them (every report, view and plan message).
"""

from __future__ import annotations

import re

import humanize

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "ki": 2**10,
    "mib": 2**20,
    "mi": 2**20,
    "gib": 2**30,
    "gi": 2**30,
    "tib": 2**40,
    "ti": 2**40,
}


def parse_size(text: str) -> int:
    """`"20MB"` -> 20000000, `"1.5GiB"` -> 1610612736; ValueError if it is not a size."""
    match = _SIZE.match(text)
    if match is None or match.group(2) is not None and match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 500kB, 20MB, 1.5GiB)")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def size(nbytes: int) -> str:
    """Human-readable bytes in SI units, as docker and dive print them (`75.6 MB`)."""
    return humanize.naturalsize(nbytes)
