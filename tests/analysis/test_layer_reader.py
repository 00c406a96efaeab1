"""The layer reader on synthetic layer tars written by the tests."""

from __future__ import annotations

import io
import tarfile
import tracemalloc

import pytest
from tarbuilder import compress, layer_tar

from uvscope.analysis.errors import LayerError
from uvscope.analysis.image.model import EntryKind
from uvscope.analysis.read.layer_reader import normalize_path, read_layer, wants_metadata


def test_entries_whiteouts_links_and_opaque_folders():
    data = layer_tar(
        ("dir", "app"),
        ("file", "app/a.txt", b"hello"),
        ("symlink", "app/link", "a.txt"),
        ("hardlink", "app/hard", "app/a.txt"),
        ("whiteout", "app/gone.bin"),
        ("opaque", "app/cache"),
    )
    layer = read_layer(io.BytesIO(data))
    kinds = {entry.path: (entry.kind, entry.size, entry.link) for entry in layer.entries}
    assert kinds == {
        "app": (EntryKind.DIR, 0, ""),
        "app/a.txt": (EntryKind.FILE, 5, ""),
        "app/link": (EntryKind.SYMLINK, 0, "a.txt"),
        "app/hard": (EntryKind.HARDLINK, 0, "app/a.txt"),
    }
    assert layer.whiteouts == ("app/gone.bin",)
    assert layer.opaque_dirs == ("app/cache",)
    assert layer.size_bytes == 5
    assert layer.file_count == 3


@pytest.mark.parametrize("how", ["plain", "gzip", "zstd"])
def test_compressed_layers_read_the_same(how):
    data = layer_tar(("file", "x/y.bin", b"z" * 4000), ("whiteout", "x/old"))
    layer = read_layer(io.BytesIO(compress(data, how)))
    assert [(entry.path, entry.size) for entry in layer.entries] == [("x/y.bin", 4000)]
    assert layer.whiteouts == ("x/old",)


def test_keeps_only_small_metadata_files():
    record = b"six.py,sha256=abc,123\n"
    data = layer_tar(
        ("file", "venv/lib/python3.11/site-packages/six-1.0.dist-info/RECORD", record),
        ("file", "venv/lib/python3.11/site-packages/six.py", b"print()"),
        ("file", "venv/pyvenv.cfg", b"home = /usr/bin\n"),
        ("file", "app/uv.lock", b"version = 1\n"),
    )
    layer = read_layer(io.BytesIO(data))
    assert layer.metadata == {
        "venv/lib/python3.11/site-packages/six-1.0.dist-info/RECORD": record,
        "venv/pyvenv.cfg": b"home = /usr/bin\n",
        "app/uv.lock": b"version = 1\n",
    }


def test_metadata_predicate():
    assert wants_metadata("usr/lib/python3/dist-packages/six-1.16.0.egg-info")
    assert wants_metadata("x/site-packages/a-1.dist-info/direct_url.json")
    assert not wants_metadata("x/site-packages/a-1.dist-info/LICENSE")
    assert not wants_metadata("x/site-packages/pkg/pyproject.toml")
    assert wants_metadata("app/pyproject.toml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("./usr/bin/", "usr/bin"), ("/etc/passwd", "etc/passwd"), ("a/../b", "b"), ("../etc", None), ("a/../../etc", None), ("./", None)],
)
def test_normalize_path(name, expected):
    assert normalize_path(name) == expected


def test_path_traversal_is_skipped_with_a_warning():
    layer = read_layer(io.BytesIO(layer_tar(("file", "../../etc/evil", b"x"), ("file", "ok", b"y"))))
    assert [entry.path for entry in layer.entries] == ["ok"]
    assert any("outside the root" in warning for warning in layer.warnings)


@pytest.mark.parametrize("cut", [100, 700, 3000])
def test_truncated_layer_is_a_layer_error(cut):
    data = layer_tar(("file", "a.bin", b"q" * 5000), ("file", "b.bin", b"r" * 5000))
    with pytest.raises(LayerError):
        read_layer(io.BytesIO(data[:cut]))


def test_random_bytes_are_a_layer_error():
    with pytest.raises(LayerError):
        read_layer(io.BytesIO(bytes(range(256)) * 8))


class _ZeroFileTar(io.RawIOBase):
    """A tar stream holding one file of `size` zero bytes, generated on the fly (never in memory)."""

    def __init__(self, size: int) -> None:
        info = tarfile.TarInfo("big/zeros.bin")
        info.size = size
        self._header = info.tobuf(format=tarfile.PAX_FORMAT)
        padding = (512 - size % 512) % 512
        self._remaining = [len(self._header), size + padding, 1024]
        self._stage = 0
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._stage < 3 and self._remaining[self._stage] == 0:
            self._stage += 1
            self._offset = 0
        if self._stage == 3:
            return 0
        count = min(len(buffer), self._remaining[self._stage])
        if self._stage == 0:
            buffer[:count] = self._header[self._offset : self._offset + count]
        else:
            buffer[:count] = bytes(count)
        self._offset += count
        self._remaining[self._stage] -= count
        return count


def test_reading_is_streaming_memory_does_not_grow_with_content():
    peaks = []
    for size in (8 << 20, 256 << 20):
        tracemalloc.start()
        layer = read_layer(io.BufferedReader(_ZeroFileTar(size), 1 << 20))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert layer.size_bytes == size
    # 32x more content, about the same peak (buffers only).
    assert peaks[1] < peaks[0] * 1.5 + (1 << 20)
    assert peaks[1] < 16 << 20
