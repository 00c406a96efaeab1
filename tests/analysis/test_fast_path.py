"""The engine's local storage, the export stream, archives and the cache give identical reports."""

from __future__ import annotations

import pytest

from uvscope.analysis.output.report import build_report
from uvscope.analysis.packages.python import analyse_python
from uvscope.analysis.read.cache import LayerCache
from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine


def _report(source, cache=None):
    image = read_image(source, cache=cache)
    report = build_report(image, analyse_python(image, project=None))
    report["image"]["ref"] = "same"
    return report, [(layer.index, tuple(sorted((e.path, e.kind, e.size, e.link) for e in layer.contents.entries))) for layer in image.layers]


@pytest.mark.parametrize("fixture", ["layers_image", "mixed_image"])
def test_local_storage_equals_the_stream(request, fixture, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ref = request.getfixturevalue(fixture)
    fast = open_source(ref)
    fast_report, fast_entries = _report(fast)
    assert fast.path_used == "local-storage"
    stream = open_source(ref, stream=True)
    stream_report, stream_entries = _report(stream)
    assert stream.path_used == "stream"
    assert fast_report == stream_report
    assert fast_entries == stream_entries


def test_archive_and_layout_equal_the_engine(layers_image, layers_archive, layers_oci, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine_report, _ = _report(open_source(layers_image))
    for path in (layers_archive, layers_oci):
        report, _ = _report(open_source(str(path)))
        assert report["layers"] == engine_report["layers"]
        assert report["packages"] == engine_report["packages"]
        assert report["reclaimable"] == engine_report["reclaimable"]


def test_warm_run_reads_nothing(layers_image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = LayerCache(str(tmp_path / "cache"))
    cold, _ = _report(open_source(layers_image, stream=True), cache)
    warm_source = open_source(layers_image)
    monkeypatch.setattr(warm_source.engine, "export", lambda: pytest.fail("a warm run exported the image"))
    monkeypatch.setattr(warm_source.engine, "local_layer_folders", lambda: pytest.fail("a warm run read local storage"))
    warm, _ = _report(warm_source, cache)
    assert warm_source.path_used == "cache"
    assert warm == cold
