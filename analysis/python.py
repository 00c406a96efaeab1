"""The Python view of an image: distributions, their bytes, and the lock they came from."""

from __future__ import annotations

from dataclasses import dataclass

from .attribution import Attribution, attribute
from .lockmatch import LockMatch, find_lock, match_lock
from .model import Image


@dataclass(frozen=True)
class PythonAnalysis:
    """Attribution of an image's Python bytes, matched against uv.lock when one is found."""

    attribution: Attribution
    lock: LockMatch | None
    warnings: tuple[str, ...] = ()


def analyse_python(image: Image, project: str | None = None) -> PythonAnalysis:
    """Attribute the image's Python files and match them to uv.lock (`--project` or found).

    A broken uv.lock the user points at is an error; one found in the image
    is a warning, and the rest of the analysis stands.
    """
    attribution = attribute(image)
    warnings: list[str] = []
    lock = find_lock(image, attribution, project, warnings)
    return PythonAnalysis(attribution, match_lock(attribution, lock) if lock is not None else None, tuple(warnings))
