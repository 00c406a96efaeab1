"""diff and history on real tags: a version bump re-ships identical dependencies, a new dependency adds its closure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from uvscope.analysis.output.diff import diff_images
from uvscope.analysis.packages.python import analyse_python
from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine


def _read(ref, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the image's own uv.lock
    image = read_image(open_source(ref))
    return image, analyse_python(image)


def test_version_bump_reships_identical_dependencies(tagged_images, tmp_path, monkeypatch):
    a, pa = _read(tagged_images["v1"], tmp_path, monkeypatch)
    b, pb = _read(tagged_images["v2"], tmp_path, monkeypatch)
    doc = diff_images(a, pa, b, pb)
    packages = doc["packages"]
    assert [(c["name"], c["from"], c["to"]) for c in packages["changed"]] == [("tags-app", "0.1.0", "0.1.1")]
    assert packages["added"] == [] and packages["removed"] == []
    assert {p["name"] for p in packages["reinstalled_identical"]} == {"six", "idna"}
    new = [layer for layer in doc["layers"] if layer["status"] == "new"]
    assert new and doc["pull_bytes"] == sum(layer["size_bytes"] for layer in new)
    assert [layer["status"] for layer in doc["layers"][:5]] == ["shared"] * 4 + ["new"]  # from the dependency layer on
    dependency_layer = new[0]
    assert dependency_layer["identical_content_bytes"] > 0.5 * dependency_layer["size_bytes"]


def test_new_dependency_adds_its_closure(tagged_images, tmp_path, monkeypatch):
    a, pa = _read(tagged_images["v1"], tmp_path, monkeypatch)
    b, pb = _read(tagged_images["v3"], tmp_path, monkeypatch)
    doc = diff_images(a, pa, b, pb)
    added = {p["name"] for p in doc["packages"]["added"]}
    assert added == {"requests", "urllib3", "certifi", "charset-normalizer"}
    assert doc["packages"]["removed"] == [] and doc["packages"]["changed"] == []


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_history_covers_the_tags_with_their_new_bytes(tagged_images, tmp_path):
    result = _cli("history", "uvscope-test/tags", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema"] == "uvscope.history/1"
    refs = [image["ref"] for image in doc["images"]]
    assert refs == ["uvscope-test/tags:v1", "uvscope-test/tags:v2", "uvscope-test/tags:v3"]
    v1, v2, v3 = doc["images"]
    assert v1["new_bytes"] == v1["size_bytes"]
    for image in (v2, v3):
        assert image["new_bytes"] + image["reused_bytes"] == image["size_bytes"]
        assert 0 < image["new_bytes"] < image["size_bytes"]
    diff = json.loads(_cli("diff", tagged_images["v1"], tagged_images["v2"], "--format", "json", cwd=tmp_path).stdout)
    # The engine's layer sizes count symlinks too; the read image counts file contents: within a few kB.
    assert abs(v2["new_bytes"] - diff["pull_bytes"]) <= max(0.01 * diff["pull_bytes"], 64_000)
    markdown = _cli("history", "uvscope-test/tags", "--tags", "v1,v3", cwd=tmp_path).stdout
    assert "uvscope-test/tags:v3" in markdown and "uvscope-test/tags:v2" not in markdown


def test_lock_history_estimates_rebuilds_today_and_with_groups(numpy_image, tmp_path):
    import shutil

    from harness import IMAGES

    repo = tmp_path / "project"
    shutil.copytree(IMAGES / "numpy", repo)
    git = ["git", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "config", "user.email", "t@example.invalid"], check=True)
    subprocess.run([*git, "config", "user.name", "t"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
    lock = repo / "uv.lock"
    lock.write_text(lock.read_text().replace('name = "numapp"\nversion = "0.1.0"', 'name = "numapp"\nversion = "0.1.1"'))
    subprocess.run([*git, "commit", "-q", "-am", "bump numapp"], check=True)
    result = _cli(
        "history", "--lock-history", str(repo), "--image", numpy_image, "--group", "heavy=numpy", "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    commits = json.loads(result.stdout)["lock_commits"]
    assert [c["subject"] for c in commits] == ["initial", "bump numapp"]
    bump = commits[1]
    assert bump["changed"] == [{"name": "numapp", "from": "0.1.0", "to": "0.1.1"}]
    assert bump["rebuild_bytes_current"] > 20_000_000  # the whole dependency layer: numpy
    assert bump["rebuild_bytes_grouped"] < 1_000_000  # numpy's layer is kept
