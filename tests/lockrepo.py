"""uv.lock texts and a project's lock history as a real git repository, written by the tests (the history
planner's inputs), with the uv docs' Dockerfile shape from `tests/shapes/` to build it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

SHAPES = Path(__file__).parent / "shapes"
UV_BASE = "ghcr.io/astral-sh/uv:python3.12-bookworm-slim"


def shape_dockerfile(name: str, uv_base: str = UV_BASE) -> str:
    """The Dockerfile `tests/shapes/<name>.Dockerfile` on `uv_base` (not built here: its text is what is planned)."""
    return (SHAPES / f"{name}.Dockerfile").read_text().replace("{UV_BASE}", uv_base)


def lock_package(name: str, version: str, dependencies: Sequence[str] = (), wheel: int = 0) -> str:
    """One registry package of a uv.lock: its dependencies, and one wheel of `wheel` bytes when given."""
    text = f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "https://pypi.org/simple" }}\n'
    if dependencies:
        text += "dependencies = [" + ", ".join(f'{{ name = "{d}" }}' for d in dependencies) + "]\n"
    if wheel:
        url = f"https://files.pythonhosted.org/{name}-{version}-cp311-cp311-manylinux_2_17_x86_64.whl"
        text += f'wheels = [{{ url = "{url}", hash = "sha256:00", size = {wheel} }}]\n'
    return text + "\n"


def lock_text(dependencies: Sequence[str], *packages: str) -> str:
    """A uv.lock of the editable project `app` depending on `dependencies`, then `packages` (`lock_package` texts)."""
    names = ", ".join(f'{{ name = "{d}" }}' for d in dependencies)
    return (
        'version = 1\nrevision = 3\nrequires-python = ">=3.11"\n\n'
        f'[[package]]\nname = "app"\nversion = "0.1.0"\nsource = {{ editable = "." }}\ndependencies = [{names}]\n\n'
        + "".join(packages)
    )


def lock_repository(folder: Path, locks: Iterable[str], *, pyproject: str | None = None, dockerfile: str | None = None) -> Path:
    """`folder` as a git repository with one commit per uv.lock text of `locks`; pyproject.toml and the
    Dockerfile, when given, are committed with the first."""
    folder.mkdir(parents=True, exist_ok=True)
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    if dockerfile is not None:
        (folder / "Dockerfile").write_text(dockerfile)
    git = ["git", "-C", str(folder), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    for index, text in enumerate(locks):
        (folder / "uv.lock").write_text(text)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"lock {index}"], check=True)
    return folder
