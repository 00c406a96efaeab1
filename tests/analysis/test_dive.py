"""dive's efficiency algorithm on small synthetic images (the real dive is compared in the engine tests)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tarbuilder import layer_tar

from uvscope.analysis.image.dive import dive_efficiency
from uvscope.analysis.image.model import EntryKind, FileEntry, LayerContents
from uvscope.analysis.read.layer_reader import read_layer


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


def _reference_dive_efficiency(layers):
    """The straightforward form of dive's algorithm (every tree built and stacked), kept to check the lazy one."""
    from uvscope.analysis.image.dive import WHITEOUT_PREFIX, DiveFigures, _layer_tree, _stack, _visit_child_first

    trees = [_layer_tree(layer) for layer in layers]
    cumulative, minimum, seen = {}, {}, {}
    stacked = trees[0].copy()
    for index, tree in enumerate(trees):
        if index > 0:
            _stack(stacked, trees[index - 1])
        for names, node in _visit_child_first(tree):
            if node.children:
                continue
            leaf = names[-1]
            if leaf.startswith(WHITEOUT_PREFIX):
                lookup = names[:-1] + [leaf[len(WHITEOUT_PREFIX) :]]
                previous = stacked.get(lookup)
                if previous is None:
                    break
                size = previous.subtree_size() if previous.is_dir else 0
                path = "/" + "/".join(lookup)
            else:
                size = node.size
                path = "/" + "/".join(names)
            cumulative[path] = cumulative.get(path, 0) + size
            minimum[path] = size if path not in minimum else min(minimum[path], size)
            seen[path] = seen.get(path, 0) + 1
    discovered = sum(cumulative.values())
    efficiency = 1.0 if discovered == 0 else sum(minimum.values()) / discovered
    wasted = sum(total for path, total in cumulative.items() if seen[path] >= 2)
    user_size = sum(layer.size_bytes for layer in layers[1:])
    return DiveFigures(efficiency, wasted, wasted / user_size if user_size else 0.0)


_PATHS = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join)
_ENTRY = st.tuples(_PATHS, st.sampled_from(list(EntryKind)), st.integers(0, 1000))
_LAYER = st.builds(
    lambda entries, whiteouts, opaque: LayerContents(
        entries=tuple(FileEntry(path, kind, size if kind is EntryKind.FILE else 0) for path, kind, size in entries),
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
    ),
    st.lists(_ENTRY, max_size=12),
    st.lists(_PATHS, max_size=3),
    st.lists(_PATHS, max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LAYER, min_size=1, max_size=5))
def test_lazy_stacking_gives_the_figures_of_full_stacking(layers):
    """Only layers with whiteouts build and stack trees now; the figures must not move."""
    assert dive_efficiency(layers) == _reference_dive_efficiency(layers)
