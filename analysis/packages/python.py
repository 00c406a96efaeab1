"""The Python view of an image: distributions, their bytes, and the lock they came from."""

from __future__ import annotations

from dataclasses import dataclass

from ..image.model import Image
from .attribution import Attribution, attribute
from .build_file import project_dockerfile
from .lockmatch import LockMatch, choose_lock, match_lock
from .member import choose_member, history_hint, package_hint


@dataclass(frozen=True)
class PythonAnalysis:
    """Attribution of an image's Python bytes, matched against uv.lock when one is found."""

    attribution: Attribution
    lock: LockMatch | None
    warnings: tuple[str, ...] = ()
    mismatch: str = ""
    """Non-empty (one line) when `--project` names a project the image was not built from."""


def _dockerfile_hint(project: str | None) -> str | None:
    if project is None:
        return None
    try:
        with open(project_dockerfile(project), encoding="utf-8") as handle:
            return package_hint(handle.read())
    except (OSError, UnicodeDecodeError):
        return None


def analyse_python(image: Image, project: str | None = None, package: str | None = None) -> PythonAnalysis:
    """Attribute the image's Python files and match them to uv.lock (`--project` or found).

    A missing, broken or unrelated uv.lock is a warning: the image's own lock
    (or none) is used and the rest of the analysis stands. The workspace
    member is `package`, else the one `uv sync --package` names in the
    image's build history or the project's Dockerfile, else inferred.
    """
    attribution = attribute(image)
    choice = choose_lock(image, attribution, project)
    if package and choice.lock is not None:
        choose_member(choice.lock, (), package)  # a `--package` the lock does not have is a one-line error
    hint = package or history_hint(image.meta.created_by) or _dockerfile_hint(project)
    match = match_lock(attribution, choice.lock, hint) if choice.lock is not None else None
    return PythonAnalysis(attribution, match, choice.warnings, choice.mismatch)
