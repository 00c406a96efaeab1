"""Attribution on real images, checked against Python's own view inside a running container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import docker

from uvscope.analysis.packages.python import analyse_python
from uvscope.analysis.read.sources import open_source, read_image

pytestmark = pytest.mark.engine

TRUTH = (Path(__file__).parent.parent / "truth.py").read_text()


def _truth(reference: str, python: str) -> dict[str, int]:
    result = docker("run", "--rm", "--network", "none", "--entrypoint", python, reference, "-c", TRUTH)
    return json.loads(result.stdout)


def _analyse(reference: str):
    image = read_image(open_source(reference))
    return image, analyse_python(image, project=None)


def _ours(python) -> dict[str, int]:
    return {f"{d.environment}|{d.name}": d.bytes for d in python.attribution.distributions if not d.estimated}


@pytest.mark.parametrize(
    ("fixture", "python"),
    [("numpy_image", "/app/.venv/bin/python"), ("workspace_image", "/app/.venv/bin/python"), ("mixed_image", "python3")],
)
def test_bytes_per_distribution_equal_what_python_sees(request, fixture, python, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no uv.lock here: the image's own lock is used
    reference = request.getfixturevalue(fixture)
    _, analysis = _analyse(reference)
    truth = _truth(reference, python)
    ours = _ours(analysis)
    assert ours, "no RECORD-based distribution found"
    assert {key: ours.get(key) for key in truth} == truth


def test_numpy_image_is_fully_attributed_and_matched(numpy_image, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    image, analysis = _analyse(numpy_image)
    attribution = analysis.attribution
    assert attribution.environments == ("/app/.venv/lib/python3.11/site-packages",)
    assert attribution.attributed_bytes >= 0.999 * attribution.site_packages_bytes
    numpy = next(d for d in attribution.distributions if d.name == "numpy")
    assert numpy.installer == "uv" and numpy.bytes > 20_000_000
    pyc = sum(v.entry.size for p, v in image.files.items() if p.endswith(".pyc") and "/numpy/" in p)
    assert pyc > 0 and attribution.owners[next(p for p in image.files if p.endswith(".pyc") and "/numpy/" in p)][1] == "numpy"
    lock = analysis.lock
    assert lock is not None and lock.lock.source == "image:/app/uv.lock"
    assert {status.status for status in lock.statuses.values()} == {"match"}
    assert lock.missing == {"iniconfig": "only in group dev"}
    closure = next(c for c in lock.closures if c.name == "numpy" and c.group == "main")
    assert closure.bytes == closure.exclusive_bytes == numpy.bytes
    project = next(d for d in attribution.distributions if d.name == "numapp")
    assert project.editable and set(project.layer_bytes) == {len(image.layers) - 1}


def test_workspace_member_image(workspace_image, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    _, analysis = _analyse(workspace_image)
    names = {d.name for d in analysis.attribution.distributions}
    assert names == {"api", "worker", "six", "idna"}
    lock = analysis.lock
    assert set(lock.lock.members) == {"api", "worker", "platform"}
    assert {status.status for status in lock.statuses.values()} == {"match"}
    assert lock.missing["platform"] == "virtual workspace root (not installable)"
    assert lock.missing["iniconfig"] == "only in group dev"
    # Built with `uv sync --package api`: closures are api's runtime dependencies, worker's pulls in idna.
    assert lock.member == "api" and {c.member for c in lock.closures} == {"api"}
    worker = next(c for c in lock.closures if c.name == "worker")
    assert "idna" in worker.packages and worker.bytes == lock.sizes["worker"] + lock.sizes["idna"]


def test_debian_pip_and_forced_reinstall(mixed_image, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    image, analysis = _analyse(mixed_image)
    by_name = {d.name: d for d in analysis.attribution.distributions}
    assert by_name["six"].installer == "debian" and by_name["six"].estimated
    assert by_name["six"].environment == "/usr/lib/python3/dist-packages"
    idna = by_name["idna"]
    assert idna.installer == "pip" and idna.environment == "/usr/local/lib/python3.11/dist-packages"
    assert len(idna.layer_bytes) == 2
    assert idna.reshipped_bytes == idna.layer_bytes[max(idna.layer_bytes)] > 0
    assert idna.reshipped_content == "identical"
    assert by_name["attrs"].reshipped_bytes == 0
    assert analysis.lock is None
