"""The image model keeps columns, not one object per path: a layer's `EntryTable` and the final
filesystem's `VisibleFiles` hand out `FileEntry` and `VisibleFile` objects only when asked."""

from __future__ import annotations

import gc
import io
import pickle

import pytest
from tarbuilder import layer_tar

from uvscope.analysis.image.model import EntryKind, EntryTable, FileEntry, ImageMeta, LayerContents, VisibleFile
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.read.layer_reader import read_layer

ENTRIES = (
    FileEntry("app", EntryKind.DIR, 0, 0o755),
    FileEntry("app/data", EntryKind.FILE, 3, 0o644),
    FileEntry("app/run", EntryKind.FILE, 70_000_000_000, 0o4755),
    FileEntry("app/link", EntryKind.SYMLINK, 0, 0o777, "data"),
    FileEntry("app/same", EntryKind.HARDLINK, 0, 0o644, "app/data"),
    FileEntry("dev/null", EntryKind.CHAR, 0, 0o666),
)


def test_a_table_gives_back_the_entries_it_was_given():
    table = EntryTable(ENTRIES)
    assert len(table) == len(ENTRIES)
    assert list(table) == list(ENTRIES)
    assert table == ENTRIES and table == EntryTable(ENTRIES)
    assert table[3] == ENTRIES[3] and table[-1] == ENTRIES[-1] and table[1:3] == list(ENTRIES[1:3])
    with pytest.raises(IndexError):
        table[len(ENTRIES)]
    assert table != ENTRIES[:-1]
    assert pickle.loads(pickle.dumps(table)) == table


def test_a_replaced_entry_drops_or_takes_its_link():
    table = EntryTable(ENTRIES)
    table.set(3, FileEntry("app/link", EntryKind.FILE, 9, 0o600))
    table.set(1, FileEntry("app/data", EntryKind.HARDLINK, 0, 0o644, "app/run"))
    assert table[3] == FileEntry("app/link", EntryKind.FILE, 9, 0o600)
    assert table[1].link == "app/run" and 3 not in table.links


def test_layer_figures_come_from_the_columns():
    contents = LayerContents(ENTRIES)
    assert isinstance(contents.entries, EntryTable)
    assert contents.size_bytes == 70_000_000_003
    assert contents.file_count == 5 and contents.entry_count == 6


def _image(*layers: bytes):
    contents = [read_layer(io.BytesIO(layer)) for layer in layers]
    meta = ImageMeta("synthetic", "sha256:0", tuple(f"sha256:{i}" for i in range(len(layers))), tuple("RUN" for _ in layers), {})
    return build_image(meta, contents)


def test_the_final_filesystem_is_the_stacked_layers_seen_one_path_at_a_time():
    image = _image(
        layer_tar(("dir", "app"), ("file", "app/a", b"1"), ("file", "app/b", b"22")),
        layer_tar(("file", "app/b", b"333"), ("whiteout", "app/a"), ("file", "app/c", b"4444")),
    )
    files = image.files
    assert sorted(files) == ["app", "app/b", "app/c"]
    assert "app/a" not in files and files.get("app/a") is None and files.get("app/a", 7) == 7
    assert files["app/b"] == VisibleFile(FileEntry("app/b", EntryKind.FILE, 3, 0o644), 1)
    assert files.layer_of("app") == 0 and files.layer_of("app/c") == 1 and files.layer_of("app/a") is None
    assert dict(files.items()) == {path: files[path] for path in files}
    assert [visible.layer for visible in files.values()] == [files[path].layer for path in files]
    assert dict(pickle.loads(pickle.dumps(files)).items()) == dict(files.items())


def test_a_read_image_holds_no_object_per_path():
    """Read and stacked, 3,000 paths leave no `FileEntry` or `VisibleFile` alive: only columns and path strings."""
    names = [("file", f"app/f{i}", b"x" * (i % 7)) for i in range(3000)]
    gc.collect()
    image = _image(layer_tar(("dir", "app"), *names[:1500]), layer_tar(*names[1000:]))
    assert len(image.files) == 3001
    gc.collect()
    alive = [item for item in gc.get_objects() if isinstance(item, (FileEntry, VisibleFile))]
    assert len(alive) < 100, f"{len(alive)} entry objects outlive the read"
