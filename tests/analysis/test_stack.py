"""Stacking layers: whiteouts, opaque folders, overwrites and the hidden copies they leave."""

from __future__ import annotations

import io

from tarbuilder import layer_tar

from uvscope.analysis.image.model import ImageMeta
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.read.layer_reader import read_layer


def _image(*layers: bytes):
    contents = [read_layer(io.BytesIO(layer)) for layer in layers]
    meta = ImageMeta(
        ref="synthetic",
        id="sha256:0",
        diff_ids=tuple(f"sha256:{index}" for index in range(len(layers))),
        created_by=tuple(f"RUN {index}" for index in range(len(layers))),
        config={},
    )
    return build_image(meta, contents)


def test_overwrite_delete_and_opaque_folder():
    image = _image(
        layer_tar(
            ("dir", "app"),
            ("file", "app/data", b"one"),
            ("file", "app/big", b"x" * 1000),
            ("dir", "app/cache"),
            ("file", "app/cache/a", b"a" * 50),
            ("dir", "app/cache/sub"),
            ("file", "app/cache/sub/b", b"b" * 70),
        ),
        layer_tar(
            ("file", "app/data", b"two!"),
            ("whiteout", "app/big"),
            ("dir", "app/cache"),
            ("opaque", "app/cache"),
            ("file", "app/cache/new", b"n"),
        ),
    )
    assert sorted(image.files) == ["app", "app/cache", "app/cache/new", "app/data"]
    assert image.files["app/data"].layer == 1
    top = image.layers[1]
    assert [change.path for change in top.added] == ["app/cache/new"]
    assert [(change.path, change.size) for change in top.modified] == [("app/data", 4)]
    assert sorted((change.path, change.size) for change in top.removed) == [("app/big", 1000), ("app/cache/", 120)]
    hidden = sorted((copy.path, copy.size, copy.layer, copy.hidden_by, copy.reason) for copy in image.hidden)
    assert hidden == [
        ("app/big", 1000, 0, 1, "deleted"),
        ("app/cache/a", 50, 0, 1, "deleted"),
        ("app/cache/sub/b", 70, 0, 1, "deleted"),
        ("app/data", 3, 0, 1, "overwritten"),
    ]
    assert image.reclaimable_bytes == 1123
    assert image.size_bytes == 1123 + 5


def test_whiteout_removes_a_whole_folder_and_applies_only_below():
    image = _image(
        layer_tar(("dir", "d"), ("file", "d/a", b"1" * 10), ("file", "d/b", b"2" * 20)),
        layer_tar(("whiteout", "d"), ("dir", "d"), ("file", "d/c", b"3")),
    )
    assert sorted(image.files) == ["d", "d/c"]
    assert image.reclaimable_bytes == 30


def test_folder_replaced_by_file_hides_its_contents():
    image = _image(
        layer_tar(("dir", "d"), ("file", "d/a", b"1" * 10)),
        layer_tar(("file", "d", b"now a file")),
    )
    assert sorted(image.files) == ["d"]
    assert image.reclaimable_bytes == 10


def test_hidden_copy_counted_once_across_many_overwrites():
    image = _image(
        layer_tar(("file", "f", b"a" * 100)),
        layer_tar(("file", "f", b"b" * 200)),
        layer_tar(("file", "f", b"c" * 300)),
    )
    assert sorted((copy.size, copy.layer, copy.hidden_by) for copy in image.hidden) == [(100, 0, 1), (200, 1, 2)]
    assert image.reclaimable_bytes == 300


def test_links_are_recorded_not_followed():
    image = _image(layer_tar(("file", "a", b"abc"), ("symlink", "s", "a"), ("hardlink", "h", "a"), ("symlink", "loop", "loop")))
    assert image.files["s"].entry.link == "a"
    assert image.files["h"].entry.link == "a"
    assert image.files["loop"].entry.link == "loop"
    assert image.size_bytes == 3


def test_reclaimable_by_layer_sums_each_hiding_layer_largest_first():
    image = _image(
        layer_tar(("file", "a", b"a" * 10), ("file", "b", b"b" * 20), ("file", "c", b"c" * 5)),
        layer_tar(("whiteout", "a")),
        layer_tar(("file", "b", b"B"), ("file", "c", b"C")),
    )
    assert image.reclaimable_by_layer() == [(2, 25), (1, 10)]
    assert sum(nbytes for _, nbytes in image.reclaimable_by_layer()) == image.reclaimable_bytes
    assert _image(layer_tar(("file", "a", b"a"))).reclaimable_by_layer() == []


def test_the_file_tree_shows_a_hard_links_bytes_once_and_on_the_link_when_the_target_is_deleted():
    from uvscope.analysis.views.browse import _find, layer_tree

    image = _image(
        layer_tar(("dir", "cache"), ("file", "cache/blob", b"x" * 500), ("dir", "site"), ("hardlink", "site/blob", "cache/blob")),
        layer_tar(("whiteout", "cache")),
    )
    before = layer_tree(image, None, 0, cumulative=True)
    assert (_find(before, "cache/blob").size, _find(before, "site/blob").size) == (500, 0)  # stored once, counted once
    after = layer_tree(image, None, 1, cumulative=True)
    assert _find(after, "cache/blob") is None
    assert _find(after, "site/blob").size == 500  # the link shows the bytes the deleted target held
    assert after.size == 500
    assert image.reclaimable_bytes == 0  # still visible: nothing to reclaim
