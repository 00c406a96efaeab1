"""The whole analysis of an image, cached: a second report, diff or session reads one record.

Reading layers is not the only cost of a warm run: stacking them, dive's
figures and the attribution of ~100k entries take seconds of Python whose
answer is already known. This caches the finished `(Image, PythonAnalysis)`
pair in the layer cache's SQLite file, keyed by everything the answer depends
on (`analysis_key`): the image's config digest (which names its layers through
their diff_ids), the reference it was opened as, the notes of its source, the
compared project's `uv.lock`, `pyproject.toml` and `Dockerfile` (by digest),
`--package`, the schema version below and a fingerprint of uvscope's analysis
code (so a changed uvscope never reads an older shape).

The record is a zstd-compressed pickle: the cache folder is the user's own
(like the layer cache itself), and nothing else is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import replace

import zstandard

from ..image.model import Image, LayerContents
from ..image.stack import build_image
from ..read.cache import LayerCache
from ..read.layer_reader import ReadMonitor
from ..read.sources import ImageSource
from .build_file import BUILD_FILE_NAMES
from .python import PythonAnalysis, analyse_python

ANALYSIS_SCHEMA = 3
"""Bump when the meaning of a cached analysis changes without its code changing."""
KEPT = 16
"""Analyses kept at most (least recently used go first): each is a few MB."""
_PROJECT_FILES = ("uv.lock", "pyproject.toml", *BUILD_FILE_NAMES)


def _code_fingerprint() -> str:
    """Sizes and mtimes of every module of `uvscope.analysis` (the model's and the readers' too): any edit or upgrade changes it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".json")):
                stat = os.stat(os.path.join(folder, name))
                parts.append(f"{os.path.relpath(os.path.join(folder, name), root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _file_digest(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "-"


def analysis_key(source: ImageSource, project: str | None, package: str | None) -> str | None:
    """The cache key of the analysis `source` would give with `project` and `package`; None when it cannot be keyed."""
    meta = source.meta()
    if not meta.id or not meta.id.startswith("sha256:"):
        return None
    folder = os.path.abspath(project if project is not None else os.getcwd())
    parts = [
        f"schema={ANALYSIS_SCHEMA}",
        f"code={_code_fingerprint()}",
        f"config={meta.id}",
        f"diff_ids={','.join(meta.diff_ids)}",
        f"ref={source.ref}",
        f"kind={type(source).__name__}:{source.kind}",
        f"notes={'|'.join(source.notes)}",
        f"project={'given' if project is not None else 'cwd'}:{folder}",
        f"package={package or ''}",
    ]
    parts += [f"{name}={_file_digest(os.path.join(folder, name))}" for name in _PROJECT_FILES]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _encode(image: Image, python: PythonAnalysis) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(pickle.dumps((image, python), protocol=pickle.HIGHEST_PROTOCOL))


def _decode(data: bytes) -> tuple[Image, PythonAnalysis]:
    image, python = pickle.loads(zstandard.ZstdDecompressor().decompress(data))
    if not isinstance(image, Image) or not isinstance(python, PythonAnalysis):
        raise ValueError("not an analysis record")
    return image, python


def get_analysis(cache: LayerCache, key: str) -> tuple[Image, PythonAnalysis] | None:
    """The cached analysis under `key`, or None (a damaged record is "not cached")."""
    data = cache.get_record("analysis", key)
    if data is None:
        return None
    try:
        return _decode(data)
    except Exception:  # noqa: BLE001 - any damage or an older shape: read the image again
        cache.delete_record("analysis", key)
        return None


def put_analysis(cache: LayerCache, key: str, image: Image, python: PythonAnalysis) -> None:
    """Store the finished analysis (best effort)."""
    try:
        data = _encode(image, python)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return
    cache.put_record("analysis", key, data, keep=KEPT)


def read_and_analyse(
    source: ImageSource,
    project: str | None = None,
    package: str | None = None,
    *,
    cache: LayerCache | None = None,
    monitor: ReadMonitor | None = None,
    key: str | None = None,
) -> tuple[Image, PythonAnalysis]:
    """`read_image` then `analyse_python`, or the cached result of both for the same image, project and uvscope.

    `key` is `analysis_key(source, project, package)` when the caller has it already.
    """
    if cache is not None and key is None:
        key = analysis_key(source, project, package)
    if key is not None:
        found = get_analysis(cache, key)  # type: ignore[arg-type]
        if found is not None:
            if hasattr(source, "path_used"):
                source.path_used = "analysis-cache"  # type: ignore[attr-defined]
            return found
    contents: dict[int, LayerContents] = {}
    for index, layer in source.read_layers(monitor, cache):
        contents[index] = layer
    image = _stack(source, contents)
    python = analyse_python(image, project, package)
    if key is not None and cache is not None:
        put_analysis(cache, key, image, python)
    return image, python


def _stack(source: ImageSource, contents: dict[int, LayerContents]) -> Image:
    meta = source.meta()
    image = build_image(meta, [contents[index] for index in range(len(meta.diff_ids))])
    return replace(image, warnings=source.notes + image.warnings) if source.notes else image


def get_report(cache: LayerCache, key: str, version: str) -> tuple[dict, list[str]] | None:
    """The JSON report built before from the analysis under `key` by uvscope `version`, and the warnings said then; or None.

    A warm `uvscope report` needs only this document, not the image model it
    was built from: one small record, no unpickling of ~100k objects.
    """
    data = cache.get_record("report", f"{key}:{version}")
    if data is None:
        return None
    try:
        record = json.loads(zstandard.ZstdDecompressor().decompress(data))
        document, warnings = record["document"], [str(line) for line in record["warnings"]]
    except (ValueError, KeyError, TypeError, zstandard.ZstdError):
        cache.delete_record("report", f"{key}:{version}")
        return None
    return (document, warnings) if isinstance(document, dict) else None


def put_report(cache: LayerCache, key: str, version: str, document: dict, warnings: Sequence[str] = ()) -> None:
    """Keep the JSON report of the analysis under `key`, and the warnings said with it (best effort)."""
    record = {"document": document, "warnings": list(warnings)}
    data = zstandard.ZstdCompressor(level=3).compress(json.dumps(record, separators=(",", ":")).encode())
    cache.put_record("report", f"{key}:{version}", data, keep=KEPT)


def iter_cached_keys(cache: LayerCache) -> Iterator[str]:
    """Keys of the cached analyses (for tests and cache maintenance)."""
    yield from cache.record_keys("analysis")
