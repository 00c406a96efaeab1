"""What uvscope reads from a real image built by BuildKit on the real engine.

The `layers` fixture (tests/images/layers) is a uv project whose last two
layers overwrite a file, delete one, re-create a folder (an opaque whiteout)
and add a hard link and a symlink.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine


def _layers(image):
    return [(layer.diff_id, layer.size_bytes, layer.file_count) for layer in image.layers]


@pytest.fixture(scope="module")
def engine_image(layers_image):
    return read_image(open_source(layers_image))


def test_engine_archive_and_oci_layouts_agree(engine_image, layers_image, layers_archive, layers_oci, layers_oci_archive, engine):
    engine_ids = engine.api.inspect_image(layers_image)["RootFS"]["Layers"]
    assert [layer.diff_id for layer in engine_image.layers] == engine_ids
    for source, kind in ((layers_archive, "archive"), (layers_oci, "oci"), (layers_oci_archive, "oci")):
        image = read_image(open_source(str(source), kind))
        assert _layers(image) == _layers(engine_image), source
        assert image.efficiency == engine_image.efficiency
        assert image.reclaimable_bytes == engine_image.reclaimable_bytes


def test_created_by_follows_history_without_empty_layers(engine_image):
    commands = [layer.created_by for layer in engine_image.layers]
    assert "uv sync --frozen --no-dev --no-install-project" in commands[5]
    assert commands[-1].startswith("RUN /bin/sh -c echo two-is-longer")
    assert not any(command.startswith(("ENV", "CMD")) for command in commands)


def test_changes_of_the_last_layers(engine_image):
    first, last = engine_image.layers[-2], engine_image.layers[-1]
    added = {change.path for change in first.added}
    assert {"app/data.txt", "app/data-hardlink.txt", "app/data-symlink.txt", "app/big.bin", "app/scratch/old/a.bin"} <= added
    assert [(change.path, change.size) for change in last.modified] == [("app/data.txt", len("two-is-longer\n"))]
    assert sorted((change.path, change.size) for change in last.removed) == [("app/big.bin", 300000), ("app/scratch/", 5005)]
    assert [change.path for change in last.added] == ["app/scratch/c.txt"]


def test_final_filesystem(engine_image):
    files = engine_image.files
    assert "app/big.bin" not in files
    assert "app/scratch/old/a.bin" not in files and "app/scratch/b.txt" not in files
    assert files["app/scratch/c.txt"].layer == len(engine_image.layers) - 1
    assert files["app/data-symlink.txt"].entry.link == "data.txt"
    # The hard link made in the second-to-last layer is recorded as a link entry of that layer.
    entries = {entry.path: entry for entry in engine_image.layers[-2].contents.entries}
    pair = {"app/data.txt", "app/data-hardlink.txt"}
    links = [entries[path] for path in pair if entries[path].kind == "hardlink"]
    assert len(links) == 1 and links[0].link in pair and links[0].size == 0
    assert "app/.venv/pyvenv.cfg" in files


def test_reclaimable_bytes_explained_by_path(engine_image):
    hidden = {(copy.path, copy.reason): copy for copy in engine_image.hidden}
    assert hidden["app/big.bin", "deleted"].size == 300000
    assert hidden["app/scratch/old/a.bin", "deleted"].size == 5000
    assert hidden["app/scratch/b.txt", "deleted"].size == 5
    ca = hidden["etc/ssl/certs/ca-certificates.crt", "overwritten"]
    assert (ca.layer, ca.hidden_by) == (0, 1)
    assert engine_image.reclaimable_bytes == sum(copy.size for copy in engine_image.hidden)


def test_metadata_files_are_kept(engine_image):
    kept = {path for layer in engine_image.layers for path in layer.contents.metadata}
    assert "app/uv.lock" in kept and "app/pyproject.toml" in kept and "app/.venv/pyvenv.cfg" in kept
    assert any(path.endswith("six-1.17.0.dist-info/RECORD") for path in kept)


def test_efficiency_equals_dive(engine_image, layers_archive, tmp_path):
    dive = Path(sys.executable).parent / "dive"
    out = tmp_path / "dive.json"
    subprocess.run(
        [str(dive), "--source", "docker-archive", str(layers_archive), "--json", str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    figures = json.loads(out.read_text())["image"]
    assert abs(figures["efficiencyScore"] - engine_image.efficiency) < 0.005
    assert figures["inefficientBytes"] == engine_image.wasted_bytes
    assert figures["sizeBytes"] == engine_image.size_bytes
