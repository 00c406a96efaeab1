"""The session's view models (`analysis/views/browse.py`) rendered as plain text and compared with golden files.

As dive tests its `viewmodel` package: a small synthetic image (built here
with `tests/tarbuilder.py` and `tests/sessionimage.py`'s `Venv`: four layers,
a Python 3.12 venv of five distributions with the session image's uv.lock,
an overwritten and re-shipped package, a deleted folder, an opaque folder, a
symlink, a uv cache) goes through `analyse_python`, and what the
layers, packages, files and waste views would show is written one line per
row under `tests/views/golden/`. Sizes are raw bytes, so a reviewer can add
them up; the tests also check the sums themselves (a folder is the sum of
what it shows, the layers add up to the image, a package's layers add up to
its bytes), so a golden file cannot bless a wrong total.

To regenerate the golden files after an intended change, run
`UVSCOPE_UPDATE_GOLDEN=1 uv run pytest tests/views` and review the diff:
each test then rewrites its file and is skipped (nothing was checked).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sessionimage import Venv
from tarbuilder import layer_tar

from uvscope.analysis.image.model import EntryKind, Image, ImageMeta
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.packages.python import PythonAnalysis, analyse_python
from uvscope.analysis.read.layer_reader import read_layer
from uvscope.analysis.views.browse import (
    FileNode,
    PackageFilter,
    cache_folders,
    environment_label,
    filter_tree,
    layer_top_packages,
    layer_tree,
    package_rows,
    short_command,
    sort_packages,
    stacked_layer_series,
    status_line,
    waste_by_package,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UVSCOPE_UPDATE_GOLDEN") == "1"

VENV = Venv("3.12", installer_in_record=True)

COMMANDS = (
    "/bin/sh -c #(nop) ADD file:0123456789abcdef in / ",
    "RUN /bin/sh -c uv sync --frozen --no-install-project # buildkit",
    "COPY . /app # buildkit",
    "RUN /bin/sh -c rm -rf /app/tmp && echo 12 > /etc/os-release && rm -rf /app/logs/* && date > /app/logs/b.log # buildkit",
)


def _layers() -> list[bytes]:
    base = layer_tar(
        ("dir", "usr"),
        ("dir", "usr/bin"),
        ("file", "usr/bin/python3.12", b"\0" * 40_000),
        ("symlink", "usr/bin/python3", "python3.12"),
        ("file", "etc/os-release", b"debian\n"),
    )
    deps = layer_tar(
        *VENV.synced(
            ("numpy", "2.1.0", {"numpy/__init__.py": 2_000, "numpy/core/_multiarray.so": 50_000}),
            ("requests", "2.32.0", {"requests/__init__.py": 500, "requests/api.py": 700}),
            ("idna", "3.10", {"idna/__init__.py": 100}),
            ("pytest", "8.3.0", {"pytest/__init__.py": 300}),
        ),
        ("file", "root/.cache/uv/wheels/junk.whl", b"\0" * 7_000),
        ("file", "app/tmp/scratch.bin", b"\0" * 3_000),
        ("file", "app/logs/a.log", b"\0" * 1_000),
    )
    app = layer_tar(
        *VENV.dist("svc", "1.0.0", {"svc/__init__.py": 90}),
        *VENV.dist("requests", "2.32.0", {"requests/__init__.py": 500, "requests/api.py": 700}),  # re-installed: re-shipped
    )
    cleanup = layer_tar(
        ("whiteout", "app/tmp"),
        ("file", "etc/os-release", b"debian 12\n"),
        ("opaque", "app/logs"),
        ("file", "app/logs/b.log", b"\0" * 200),
    )
    return [base, deps, app, cleanup]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> tuple[Image, PythonAnalysis]:
    layers = _layers()
    contents = [read_layer(io.BytesIO(layer)) for layer in layers]
    meta = ImageMeta("svc:golden", "sha256:0", tuple(f"sha256:{i}" for i in range(len(layers))), COMMANDS, {})
    image = build_image(meta, contents)
    # without --project the current folder's uv.lock would be a candidate: work from an empty folder
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("empty"))
    try:
        python = analyse_python(image)
    finally:
        os.chdir(here)
    assert python.lock is not None and not python.warnings
    return image, python


def _check(name: str, text: str) -> None:
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"  # editors strip trailing blanks
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
        pytest.skip(f"rewrote {path.relative_to(GOLDEN.parent.parent)}: review the diff")
    assert path.exists(), f"no golden file {path}; run with UVSCOPE_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs from its golden file (if intended: UVSCOPE_UPDATE_GOLDEN=1, then review the diff)"


# -- rendering --------------------------------------------------------------------------------


def _layers_text(image: Image, python: PythonAnalysis) -> str:
    top = layer_top_packages(python)
    lines = [status_line(image, python), "", f"{'#':>2} {'bytes':>8} {'files':>5}  command | top packages"]
    for layer in image.layers:
        packages = ", ".join(f"{name} {nbytes}" for name, nbytes in top.get(layer.index, []))
        lines.append(f"{layer.index:>2} {layer.size_bytes:>8} {layer.file_count:>5}  {short_command(layer.created_by, 70)} | {packages}")
    lines.append(f"{'=':>2} {image.size_bytes:>8} {sum(layer.file_count for layer in image.layers):>5}  (image)")
    lines.append("")
    for layer in image.layers:
        lines.append(f"layer {layer.index} changes:")
        for mark, changes in (("+", layer.added), ("~", layer.modified), ("-", layer.removed)):
            lines += [f"  {mark} {change.size:>8} {change.path.rstrip('/')}{'/' if change.folder else ''}" for change in changes]
    labels, series = stacked_layer_series(image, python, top=3)
    lines += ["", "stacked chart: " + " ".join(f"{label:>8}" for label in labels)]
    lines += [f"{name:>13}: " + " ".join(f"{value:>8}" for value in values) for name, values in series.items()]
    return "\n".join(lines) + "\n"


def _package_table(rows) -> list[str]:
    def optional(value: int | None) -> str:
        return "-" if value is None else str(value)

    lines = [
        f"{'name':<9} {'version':<7} {'bytes':>6} {'share':>6} {'layers':<6} {'lock':<10} {'groups':<6} closure exclusive shared reshipped env installer"
    ]
    for row in rows:
        lines.append(
            f"{row.name:<9} {row.version:<7} {row.bytes:>6} {row.share:>6.1%} {','.join(map(str, row.layers)):<6} {row.lock_status:<10} "
            f"{','.join(row.groups) or '-':<6} {optional(row.closure_bytes):>7} {optional(row.exclusive_bytes):>9} {optional(row.shared_bytes):>6} "
            f"{row.reshipped_bytes:>9} {environment_label(row.environment)} {row.installer}"
        )
    return lines


def _packages_text(image: Image, python: PythonAnalysis) -> str:
    rows = package_rows(image, python)
    lines = ["all packages (largest first):", *_package_table(rows)]
    lines += ["", f"total {sum(row.bytes for row in rows)} of {image.size_bytes} image bytes"]
    lines += ["", "sorted by name, descending:", *_package_table(sort_packages(rows, "name", True))]
    for title, only in (
        ("with bytes in layer 2:", PackageFilter(layer=2)),
        ("with bytes in layers up to 1, at least 1000 bytes:", PackageFilter(layer=1, up_to_layer=True, min_bytes=1000)),
        ("name contains 'py', in group 'dev':", PackageFilter(text="py", group="dev")),
        ("lock status 'match', at least 100000 bytes (none):", PackageFilter(lock_status="match", min_bytes=100_000)),
    ):
        lines += ["", title, *_package_table(only.apply(rows))]
    return "\n".join(lines) + "\n"


def _tree_lines(node: FileNode, depth: int = 0) -> list[str]:
    lines = []
    for child in node.sorted_children():
        kind = child.kind.name.lower() if child.kind is not None else "-"
        extra = (f" -> {child.link}" if child.link else "") + (f" [{child.owner}]" if child.owner else "")
        lines.append(f"{child.size:>8} {child.mark or '.':<8} {kind:<7} {'  ' * depth}{child.name}{extra}")
        lines += _tree_lines(child, depth + 1)
    return lines


def _files_text(image: Image, python: PythonAnalysis) -> str:
    lines = []
    trees = [(f"layer {layer.index} alone", layer_tree(image, python, layer.index, False)) for layer in image.layers]
    trees.append((f"everything up to layer {len(image.layers) - 1}", layer_tree(image, python, len(image.layers) - 1, True)))
    numpy_only = filter_tree(trees[1][1], "numpy")
    assert numpy_only is not None
    trees.append(("layer 1 filtered on 'numpy'", numpy_only))
    big_only = filter_tree(trees[-2][1], min_bytes=5_000)
    assert big_only is not None
    trees.append(("everything, files of at least 5000 bytes", big_only))
    for title, root in trees:
        lines += [f"{title}: {root.size} bytes, {root.file_count()} files, {root.count()} nodes", *_tree_lines(root), ""]
    return "\n".join(lines)


def _waste_text(image: Image, python: PythonAnalysis) -> str:
    lines = [
        f"efficiency {image.efficiency:.6f}, dive's wasted bytes {image.wasted_bytes}, user wasted {image.user_wasted_percent:.6f}",
        f"reclaimable {image.reclaimable_bytes} in {len(image.hidden)} hidden or deleted copies",
        "",
        "by path:",
    ]
    lines += [
        f"  {copy.size:>6} /{copy.path} ({copy.reason} in {copy.hidden_by}, shipped in {copy.layer})"
        for copy in sorted(image.hidden, key=lambda c: (-c.size, c.path))
    ]
    for title, items in (("by package:", waste_by_package(image, python)), ("package-manager caches:", cache_folders(image))):
        lines += ["", title, *(f"  {item.bytes:>6} {item.label}{' (' + item.detail + ')' if item.detail else ''}" for item in items)]
    assert python.lock is not None
    lines += ["", "dev-group packages in the image: " + ", ".join(python.lock.dev_present)]
    return "\n".join(lines) + "\n"


# -- the golden texts --------------------------------------------------------------------------


def test_layers_view(analysed):
    _check("layers.txt", _layers_text(*analysed))


def test_packages_view(analysed):
    _check("packages.txt", _packages_text(*analysed))


def test_files_view(analysed):
    _check("files.txt", _files_text(*analysed))


def test_waste_view(analysed):
    _check("waste.txt", _waste_text(*analysed))


# -- the sums the golden files show, checked here too ---------------------------------------------


def _folders_add_up(node: FileNode) -> None:
    if node.children:
        assert node.size == sum(child.size for child in node.children.values() if child.mark != "removed"), node.path
        for child in node.children.values():
            _folders_add_up(child)


def test_the_figures_add_up(analysed):
    image, python = analysed
    for layer in image.layers:
        tree = layer_tree(image, python, layer.index, False)
        _folders_add_up(tree)
        assert tree.size == layer.size_bytes and tree.file_count() == layer.file_count
    final = layer_tree(image, python, len(image.layers) - 1, True)
    _folders_add_up(final)
    assert final.size == sum(visible.entry.size for visible in image.files.values())
    assert final.file_count() == sum(1 for visible in image.files.values() if visible.entry.kind is not EntryKind.DIR)
    rows = package_rows(image, python)
    assert [row.bytes for row in rows] == sorted((row.bytes for row in rows), reverse=True)
    for dist in python.attribution.distributions:
        # every shipped copy: the visible one and the re-shipped ones (no package file here is deleted for good)
        assert sum(dist.layer_bytes.values()) == dist.bytes + dist.reshipped_bytes
    labels, series = stacked_layer_series(image, python, top=3)
    assert [sum(values[i] for values in series.values()) for i in range(len(labels))] == [layer.size_bytes for layer in image.layers]
    assert image.reclaimable_bytes == sum(item.bytes for item in waste_by_package(image, python))
