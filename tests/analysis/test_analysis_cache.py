"""The whole analysis of an image is cached: a second run reads one record and says the same.

The cached answer must be the fresh one (the same JSON report, byte for byte),
must be read without reading a layer, and must not outlive a change of the
compared uv.lock (which changes the answer).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import harness
import pytest

from uvscope.analysis.output.report import build_report
from uvscope.analysis.packages.analysis_cache import iter_cached_keys, read_and_analyse
from uvscope.analysis.read.cache import LayerCache
from uvscope.analysis.read.sources import open_source

pytestmark = pytest.mark.engine


def _no_layer_reads(source):
    def refuse(*args, **kwargs):
        raise AssertionError("a layer was read although the analysis is cached")

    source.read_layers = refuse
    return source


def _report(image_and_python) -> str:
    return json.dumps(build_report(*image_and_python), sort_keys=True)


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    shutil.copytree(harness.IMAGES / "numpy", folder)
    return folder


def test_cached_analysis_is_the_fresh_one_and_reads_no_layer(numpy_image, project, tmp_path):
    fresh = _report(read_and_analyse(open_source(numpy_image), str(project)))
    cache = LayerCache(str(tmp_path / "cache"))
    first = _report(read_and_analyse(open_source(numpy_image), str(project), cache=cache))
    assert len(list(iter_cached_keys(cache))) == 1
    source = _no_layer_reads(open_source(numpy_image))
    second = _report(read_and_analyse(source, str(project), cache=cache))
    assert first == fresh and second == fresh
    assert source.path_used == "analysis-cache"
    assert json.loads(second)["packages"], "the cached analysis lost the Python side"


def test_changed_uv_lock_invalidates_the_cached_analysis(numpy_image, project, tmp_path):
    cache = LayerCache(str(tmp_path / "cache"))
    before = _report(read_and_analyse(open_source(numpy_image), str(project), cache=cache))
    lock = project / "uv.lock"
    text = lock.read_text()
    assert 'version = "2.4.6"' in text
    lock.write_text(text.replace('version = "2.4.6"', 'version = "2.4.5"'))
    with pytest.raises(AssertionError, match="a layer was read"):
        read_and_analyse(_no_layer_reads(open_source(numpy_image)), str(project), cache=cache)
    after = _report(read_and_analyse(open_source(numpy_image), str(project), cache=cache))
    fresh = _report(read_and_analyse(open_source(numpy_image), str(project)))
    assert after == fresh
    assert after != before, "the lock change should change the report (numpy's locked version)"
    assert len(list(iter_cached_keys(cache))) == 2
    # Back to the first lock: its record is still there and still right.
    lock.write_text(text)
    again = _report(read_and_analyse(_no_layer_reads(open_source(numpy_image)), str(project), cache=cache))
    assert again == before


def test_second_cli_report_is_the_first(numpy_image, project, tmp_path):
    """`uvscope report` twice with one cache: the same bytes; --no-cache agrees."""
    command = [sys.executable, "-m", "uvscope.app.cli", "report", numpy_image, "--project", str(project)]
    cached = [*command, "--format", "json", "--cache-dir", str(tmp_path / "cache")]
    runs = [subprocess.run(args, capture_output=True, text=True, timeout=300, check=True).stdout for args in (cached, cached, [*command, "--format", "json", "--no-cache"])]
    assert runs[0] == runs[1] == runs[2]
    cache = LayerCache(str(tmp_path / "cache"))
    assert len(cache.record_keys("analysis")) == 1
    assert len(cache.record_keys("report")) == 1, "the second report should have come from the report record"
    markdown = [*command, "--format", "md", "--cache-dir", str(tmp_path / "cache")]
    first_md, second_md = (subprocess.run(markdown, capture_output=True, text=True, timeout=300, check=True).stdout for _ in range(2))
    assert first_md == second_md and first_md.startswith("#")
