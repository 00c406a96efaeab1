"""The layer cache: round trip, skipped reads, corruption, schema changes, size bound, concurrent writers."""

from __future__ import annotations

import io
import multiprocessing
import sqlite3

import pytest
from tarbuilder import docker_save_legacy, layer_tar

from uvscope.analysis.read import cache as cache_module
from uvscope.analysis.read.cache import LayerCache
from uvscope.analysis.read.layer_reader import read_layer
from uvscope.analysis.read.sources import cached_or_read, open_source, read_image


def _layer(n: int = 3):
    return read_layer(io.BytesIO(layer_tar(*[("file", f"d/f{i}", bytes([i]) * 100) for i in range(n)], ("whiteout", "gone"),
                                           ("file", "x/site-packages/a-1.dist-info/RECORD", b"a,,\n"))))


def test_round_trip(tmp_path):
    cache = LayerCache(str(tmp_path))
    layer = _layer()
    cache.put("sha256:aa", layer)
    again = LayerCache(str(tmp_path)).get("sha256:aa")
    assert again == layer
    assert cache.get("sha256:bb") is None



def test_cached_or_read_reads_once_and_keeps_what_it_read(tmp_path):
    cache = LayerCache(str(tmp_path))
    reads = []

    def read():
        reads.append(1)
        return _layer()

    assert cached_or_read(cache, "sha256:aa", read) == (_layer(), False)
    assert cached_or_read(cache, "sha256:aa", read) == (_layer(), True)
    assert len(reads) == 1
    assert cached_or_read(None, "sha256:aa", read) == (_layer(), False)  # no cache: always read
    assert len(reads) == 2

def test_archive_layers_in_the_cache_are_not_read_again(tmp_path, monkeypatch):
    archive = tmp_path / "image.tar"
    archive.write_bytes(docker_save_legacy([layer_tar(("file", "a", b"x" * 10)), layer_tar(("file", "b", b"y" * 20))]))
    cache = LayerCache(str(tmp_path / "cache"))
    first = read_image(open_source(str(archive)), cache=cache)
    source = open_source(str(archive))
    monkeypatch.setattr(source.store, "read_layer", lambda *a, **k: pytest.fail("a cached layer was read again"))
    second = read_image(source, cache=cache)
    assert [layer.size_bytes for layer in second.layers] == [layer.size_bytes for layer in first.layers] == [10, 20]


def test_corrupt_cache_is_moved_aside_and_rebuilt(tmp_path):
    (tmp_path / "layers.sqlite").write_bytes(b"this is not a database" * 100)
    cache = LayerCache(str(tmp_path))
    assert cache.get("sha256:aa") is None
    cache.put("sha256:aa", _layer())
    assert cache.get("sha256:aa") is not None
    assert (tmp_path / "layers.sqlite.corrupt").exists()


def test_garbage_rows_are_misses_not_errors(tmp_path):
    cache = LayerCache(str(tmp_path))
    cache.put("sha256:aa", _layer())
    db = sqlite3.connect(tmp_path / "layers.sqlite")
    db.execute("UPDATE layers SET data = ?", (b"\x00garbage",))
    db.commit()
    assert LayerCache(str(tmp_path)).get("sha256:aa") is None


def test_new_schema_version_starts_empty(tmp_path, monkeypatch):
    LayerCache(str(tmp_path)).put("sha256:aa", _layer())
    monkeypatch.setattr(cache_module, "SCHEMA_VERSION", cache_module.SCHEMA_VERSION + 1)
    assert LayerCache(str(tmp_path)).get("sha256:aa") is None


def test_size_is_bounded_least_recently_used_first(tmp_path):
    cache = LayerCache(str(tmp_path), limit=1)
    cache.put("sha256:old", _layer())
    cache.put("sha256:new", _layer())
    assert cache.get("sha256:new") is not None and cache.get("sha256:old") is None


def _writer(folder: str, worker: int) -> None:
    cache = LayerCache(folder)
    for index in range(30):
        cache.put(f"sha256:{worker}-{index}", _layer(5))


def test_concurrent_writers_do_not_corrupt_it(tmp_path):
    processes = [multiprocessing.Process(target=_writer, args=(str(tmp_path), worker)) for worker in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert all(process.exitcode == 0 for process in processes)
    cache = LayerCache(str(tmp_path))
    assert all(cache.get(f"sha256:{w}-{i}") is not None for w in range(4) for i in range(30))
