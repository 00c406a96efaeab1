"""`optimize --prove` pushes to a registry and rebuilds on a cold builder, checked against the registry's files.

A small multi-stage project (numpy as the group, the uv Docker example's multistage Dockerfile) is proved
with `--prove-cold` against a docker-registry this test starts (`--prove-registry`), keeping what it pushed;
the test then reads the registry's storage itself: for each Dockerfile, the blobs the image after the change
names that the image before it did not (manifest, config, layers, sized by their files on disk) must add up
to the bytes `--prove` says the push uploaded. The rewrite must keep its advantage on the cold builder: the
original re-uploads its dependency layer, the revised one a few hundred kB. Bad input: an unreachable
registry, and one that refuses the push, each end with one line naming the registry, and leave no image,
tag, registry or engine behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import harness
import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.plan.push_cost import BLOBS_DIR, manifest_blobs
from uvscope.analysis.plan.registry_run import ScratchRegistry, measured_push, push

pytestmark = pytest.mark.engine

SHAPES = Path(__file__).parent.parent / "shapes"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    context = tmp_path_factory.mktemp("push") / "multistage"
    shutil.copytree(SHAPES / "project", context)
    pyproject = context / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "pandas>=2.2",  # heavy\n', ""))
    subprocess.run([harness.uv_binary(), "lock", "-q"], cwd=context, check=True, capture_output=True, timeout=600)
    text = (SHAPES / "example-multistage.Dockerfile").read_text()
    (context / "Dockerfile").write_text(text.replace("{UV_BASE}", harness.uv_base_image()).replace("{BASE}", harness.BASE_IMAGE))
    return context


def _prove(context: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}", "UVSCOPE_DOCKER": harness.DOCKER}
    args = ["optimize", "--project", str(context), "--group", "heavy=numpy", "--prove", "--docker-build-option=--network=host", *extra]
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], cwd=context, capture_output=True, text=True, timeout=900, env=env)


def _storage_blobs_of(root: Path, repository: str, tag: str) -> dict[str, int]:
    """digest -> bytes of the blobs `repository:tag` names, read from the registry's files (not through uvscope's
    reader): the tag's link gives the manifest, the manifest its config and layers, each sized by its data file."""
    link = root / "docker/registry/v2/repositories" / repository / "_manifests/tags" / tag / "current/link"
    digest = link.read_text().strip()

    def data(digest: str) -> Path:
        hexa = digest.split(":", 1)[1]
        return root / BLOBS_DIR / hexa[:2] / hexa / "data"

    manifest = json.loads(data(digest).read_bytes())
    blobs, children = manifest_blobs(manifest, digest, data(digest).stat().st_size)
    assert not children, "docker 20.10 pushes one manifest"
    return {name: data(name).stat().st_size for name in blobs}


def _processes_under(fragment: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in command and "pytest" not in command:
            found.append(command)
    return found


def _leftover_tags() -> list[str]:
    listed = harness.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return [tag for tag in listed if "uvscope-prove/shapes-app" in tag]


def test_cold_rebuild_and_pushed_bytes_match_the_registry_files(project, tmp_path):
    registry = harness.Registry(tmp_path / "registry")
    running = set(_processes_under("uvscope-prove-"))  # another proof's engine may be running meanwhile
    try:
        result = _prove(project, "--prove-cold", "--prove-registry", registry.host, "--keep-images", "--format", "json")
        assert result.returncode == 0, result.stderr[-3000:]
        proof = json.loads(result.stdout[result.stdout.index("{\n") :])
        rows = {row["dockerfile"]: row for row in proof["results"]}
        assert proof["cold"] == "inline" and proof["registry"] == registry.host
        root = tmp_path / "registry" / "data"
        for label, row in rows.items():
            repository = next(
                path.name for path in (root / "docker/registry/v2/repositories/uvscope-prove").iterdir() if f"-{label}-" in path.name
            )
            before = _storage_blobs_of(root, f"uvscope-prove/{repository}", "before")
            after = _storage_blobs_of(root, f"uvscope-prove/{repository}", "after")
            new = {digest: size for digest, size in after.items() if digest not in before}
            assert row["pushed_after"] == {"bytes": sum(new.values()), "blobs": len(new), "record": "registry API"}, label
            assert row["pushed_before"]["bytes"] == sum(before.values())
            assert row["rebuild_seconds"] > 0
        original, revised = rows["original"], rows["revised"]
        assert revised["groups_kept"] == {"heavy": True}
        # numpy's layer (about 20 MB compressed) goes again with the original, not with the revision
        assert original["pushed_after"]["bytes"] > 10_000_000
        assert original["pushed_after"]["bytes"] > 20 * revised["pushed_after"]["bytes"]
        # the cold engine is gone: no dockerd or containerd of a proof's scratch folder
        assert set(_processes_under("uvscope-prove-")) <= running
    finally:
        registry.stop()
        for tag in _leftover_tags():
            harness.docker("image", "rm", "--no-prune", tag, check=False)


def test_unreachable_registry_is_one_line(project):
    before = _leftover_tags()
    result = _prove(project, "--prove-registry", "127.0.0.1:9")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines == ["uvscope: error: --prove-registry 127.0.0.1:9: cannot reach the registry (Connection refused)"]
    assert "Traceback" not in result.stderr and _leftover_tags() == before


def test_registry_wanting_a_login_is_one_line_and_leaves_nothing(project, tmp_path):
    """A registry behind basic auth, which neither docker nor uvscope has a login for: refused before any build."""
    registry = harness.Registry(tmp_path / "auth", user="ci", password="secret")  # docker has no login for it
    try:
        files = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
        running = set(_processes_under("uvscope-prove-"))  # another proof's engine may be running meanwhile
        result = _prove(project, "--prove-registry", registry.host)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert lines == [f"uvscope: error: --prove-registry {registry.host}: {registry.host} wants a login (docker login {registry.host}, or ~/.docker/config.json)"]
        assert _leftover_tags() == [] and set(_processes_under("uvscope-prove-")) <= running
        assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == files
    finally:
        registry.stop()


def test_registry_refusing_the_push_mid_proof_is_one_line_and_leaves_nothing(project, tmp_path):
    """A registry that answers (so the proof starts and builds) but refuses uploads, as a read-only one does:
    the first push fails after the original's build; one line names the registry and the image, and the images
    and tags the proof had built are removed, the project's files unchanged."""
    registry = harness.Registry(tmp_path / "readonly", readonly=True)
    try:
        files = {path: path.read_bytes() for path in project.rglob("*") if path.is_file()}
        result = _prove(project, "--prove-registry", registry.host)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert lines[-1].startswith(f"uvscope: error: --prove: the registry {registry.host} refused the push of "), result.stderr
        assert [line for line in lines if line.startswith("uvscope: error")] == [lines[-1]]
        assert "Method not allowed" in lines[-1]  # the client's error, not its last progress line
        assert "uvscope: building the original Dockerfile" in result.stderr  # refused mid-proof, not before it
        assert _leftover_tags() == []
        assert {path: path.read_bytes() for path in project.rglob("*") if path.is_file()} == files
    finally:
        registry.stop()


def test_scratch_registry_counts_what_the_push_uploaded(tmp_path):
    """The registry --prove starts: a push into it uploads the image's blobs once (the registry API agrees with
    the blob files), and pushing the same image again under another tag uploads nothing."""
    from uvscope.analysis.plan.registry_run import NamedRegistry

    registry = ScratchRegistry(str(tmp_path / "scratch"))
    image = harness.uv_binary_image()
    remote = f"{registry.host}/uvscope-prove-test/uvbin"
    try:
        for tag in ("one", "two"):
            harness.docker("tag", image, f"{remote}:{tag}")
        first = measured_push(registry, "uvscope-prove-test/uvbin", lambda: push(harness.DOCKER, f"{remote}:one", registry.host))
        through_api = NamedRegistry(registry.host).blobs("uvscope-prove-test/uvbin")
        assert first.bytes == sum(through_api.values()) and first.blobs == len(through_api) >= 3
        # the preview's measurement of each layer (gzip of its tar, cached by diff_id) is within 3% of what docker uploaded
        from uvscope.analysis.read.cache import LayerCache
        from uvscope.analysis.read.compressed import compressed_layer_sizes
        from uvscope.analysis.read.sources import open_source

        source = open_source(image, "docker")
        cache = LayerCache(str(tmp_path / "cache"))
        measured = compressed_layer_sizes(source, cache)
        uploaded = open_source(f"registry+http://{remote}:one", "registry")
        by_diff_id = compressed_layer_sizes(uploaded, None)
        assert set(measured) == set(by_diff_id) == set(source.meta().diff_ids)
        for diff_id, size in by_diff_id.items():
            assert abs(measured[diff_id] - size) <= 0.03 * size + 1024, (diff_id, measured[diff_id], size)
        source.engine.export = None  # a second look is the cache's: no export
        assert compressed_layer_sizes(source, cache) == measured
        again = measured_push(registry, "uvscope-prove-test/uvbin", lambda: push(harness.DOCKER, f"{remote}:two", registry.host))
        assert (again.bytes, again.blobs) == (0, 0)  # same manifest, same blobs: nothing new
        registry.stop()  # a registry gone mid-proof: the push ends with one line naming it
        with pytest.raises(UvscopeError, match=rf"^--prove: the registry {registry.host} refused the push of {remote}:one: "):
            push(harness.DOCKER, f"{remote}:one", registry.host)
    finally:
        for tag in ("one", "two"):
            harness.docker("image", "rm", "--no-prune", f"{remote}:{tag}", check=False)
        registry.stop()


@pytest.mark.skipif(os.environ.get("UVSCOPE_TESTS_COLD26") != "1", reason="about 90 s more: UVSCOPE_TESTS_COLD26=1 runs it")
def test_cold_rebuild_on_docker26_with_a_registry_cache(project, docker26):
    """buildx's path: the previous job exports `--cache-to type=registry,mode=max`, the cold rebuild runs on a
    throwaway dockerd 26 (trixie's, through tests/cold-dockerd26.sh) with the containerd image store, importing it.
    The group's layer is kept and the revision pushes a small fraction of what the original pushes (cache included)."""
    for image in (harness.uv_base_image(), harness.BASE_IMAGE):
        docker26.copy_from_default(image)
    env = docker26.env(
        UVSCOPE_DOCKER=docker26.cli,
        UVSCOPE_COLD_DOCKERD=str(Path(__file__).parent.parent / "cold-dockerd26.sh"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    )
    args = ["optimize", "--project", str(project), "--group", "heavy=numpy", "--prove", "--prove-cold", "--format", "json",
            "--docker-build-option=--network=host"]
    result = subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    proof = json.loads(result.stdout[result.stdout.index("{\n") :])
    rows = {row["dockerfile"]: row for row in proof["results"]}
    assert proof["cold"] == "registry,mode=max" and rows["revised"]["groups_kept"] == {"heavy": True}
    assert rows["original"]["pushed_after"]["bytes"] > 20 * rows["revised"]["pushed_after"]["bytes"]
    assert all(row["rebuild_seconds"] > 0 for row in rows.values())


def test_buildx_cold_builder_on_an_old_dockerd_is_one_line_before_any_build(project, docker26):
    """docker 26's client (buildx) with the host's dockerd 20.10 as the throwaway engine: a registry cache cannot be
    imported there, said in one line before anything is built."""
    env = docker26.env(UVSCOPE_DOCKER=docker26.cli, UVSCOPE_COLD_DOCKERD="/usr/sbin/dockerd",
                       PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    args = ["optimize", "--project", str(project), "--group", "heavy=numpy", "--prove", "--prove-cold"]
    result = subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, timeout=300, env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "needs a dockerd 24+" in lines[0] and "/usr/sbin/dockerd is Docker version 20.10" in lines[0]
