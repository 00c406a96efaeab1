"""dive's efficiency algorithm on small synthetic images (the real dive is compared in the engine tests)."""

from __future__ import annotations

import io

import pytest
from tarbuilder import layer_tar

from uvscope.analysis.dive import dive_efficiency
from uvscope.analysis.layer_reader import read_layer


def _figures(*layers):
    return dive_efficiency([read_layer(io.BytesIO(layer)) for layer in layers])


def test_no_duplication_is_fully_efficient():
    figures = _figures(layer_tar(("file", "a", b"1" * 10)), layer_tar(("file", "b", b"2" * 10)))
    assert figures.efficiency == 1.0
    assert figures.wasted_bytes == 0


def test_overwritten_file_counts_both_copies_as_waste():
    figures = _figures(layer_tar(("file", "a", b"1" * 100)), layer_tar(("file", "a", b"2" * 300)))
    # dive: min size 100 over cumulative 400; the path's cumulative size is wasted.
    assert figures.efficiency == pytest.approx(100 / 400)
    assert figures.wasted_bytes == 400
    assert figures.user_wasted_percent == pytest.approx(400 / 300)


def test_deleted_file_and_folder_as_dive_counts_them():
    file_deleted = _figures(layer_tar(("file", "a", b"1" * 100), ("file", "k", b"k")), layer_tar(("whiteout", "a")))
    assert file_deleted.wasted_bytes == 100
    assert file_deleted.efficiency == pytest.approx(1 / 101)
    folder_deleted = _figures(layer_tar(("dir", "d"), ("file", "d/a", b"1" * 100)), layer_tar(("whiteout", "d")))
    # dive charges the folder's bytes to the path "/d", seen once: no waste, full score,
    # although 100 bytes ship for nothing (uvscope's reclaimable_bytes counts them).
    assert folder_deleted.wasted_bytes == 0
    assert folder_deleted.efficiency == 1.0


def test_opaque_markers_are_ignored_like_dive_does():
    figures = _figures(
        layer_tar(("dir", "d"), ("file", "d/a", b"1" * 100)),
        layer_tar(("dir", "d"), ("opaque", "d"), ("file", "d/b", b"2")),
    )
    assert figures.wasted_bytes == 0
    assert figures.efficiency == 1.0


def test_very_deep_paths_do_not_hit_the_recursion_limit():
    deep = "/".join(["d"] * 1500)
    figures = _figures(layer_tar(("file", deep + "/f", b"1" * 10)), layer_tar(("file", deep + "/f", b"2" * 10)))
    assert figures.wasted_bytes == 20
