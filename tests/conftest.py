"""Shared fixtures: the real Docker Engine and the images the tests build on it.

The engine tests never skip silently: without a reachable engine they fail,
unless UVSCOPE_TESTS_NO_ENGINE=1 says to leave them out on purpose.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402

CACHE = Path(os.environ.get("UVSCOPE_TEST_CACHE", Path.home() / ".cache" / "uvscope-tests"))


@pytest.fixture(scope="session", autouse=True)
def _private_layer_cache(tmp_path_factory):
    """The tests (and the uvscope processes they start) never read or fill the user's layer cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session", autouse=True)
def _remove_images_the_session_created():
    """At the end, remove the images this session tagged (harness.CREATED): the engine is left as it was found,
    except for the base images and the content-hashed fixtures (harness.KEPT_IMAGES), which take minutes to build."""
    yield
    if harness.CREATED:
        harness.remove_created_images()


def pytest_collection_modifyitems(config, items):
    # the code rules (ruff, mypy) and the architecture checks first: seconds, before the engine tests
    first = ("test_code_rules.py", "test_architecture.py")
    items.sort(key=lambda item: 0 if item.path.name in first else 1)
    if os.environ.get("UVSCOPE_TESTS_NO_ENGINE") == "1":
        skip = pytest.mark.skip(reason="UVSCOPE_TESTS_NO_ENGINE=1")
        for item in items:
            if "engine" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def null_device(tmp_path) -> Path:
    """A character device node with /dev/null's number (1, 3), made in the test's temporary folder
    (`tmp_path/null`); skips where device nodes cannot be made (not root, or mknod not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError as error:
        pytest.skip(f"mknod not allowed here: {error}")
    return null


@pytest.fixture(scope="session")
def engine():
    """A docker-py client of the running engine; fails the test if there is none."""
    from uvscope.analysis.errors import EngineUnavailable
    from uvscope.analysis.read.engine import engine_client

    try:
        return engine_client()
    except EngineUnavailable as error:
        pytest.fail(f"the engine tests need a running Docker Engine (.ci/run starts one): {error}")


@pytest.fixture(scope="session")
def docker26() -> harness.Engine:
    """Docker 26.1.5 with the containerd image store (tests/setup-engine.sh starts it next to 20.10); the test
    fails if it is not running, unless UVSCOPE_MODERN_ENGINES=0 says to leave the modern engines out."""
    if os.environ.get("UVSCOPE_MODERN_ENGINES") == "0":
        pytest.skip("UVSCOPE_MODERN_ENGINES=0")
    from uvscope.analysis.errors import EngineUnavailable
    from uvscope.analysis.read.engine import engine_client

    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = harness.DOCKER26_HOST
    try:
        info = engine_client().info()
    except EngineUnavailable as error:
        pytest.fail(f"the modern-engine tests need docker 26 (bash tests/setup-engine.sh starts it): {error}")
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST")
        else:
            os.environ["DOCKER_HOST"] = previous
    assert "snapshotter" in str(info.get("DriverStatus")), f"docker 26 is not on the containerd image store: {info.get('DriverStatus')}"
    return harness.DOCKER26


@pytest.fixture(scope="session")
def layers_image26(docker26) -> str:
    """The `layers` fixture built on docker 26 by its buildx 0.13 (an image index with provenance, in containerd)."""
    return harness.build_fixture("layers", engine=docker26)


@pytest.fixture(scope="session")
def podman5() -> harness.Engine:
    """Podman 5.4.2's `podman system service` (tests/setup-engine.sh starts it); `host` is its socket, as
    CONTAINER_HOST names it for uvscope's podman source. Fails if it is not running, unless UVSCOPE_MODERN_ENGINES=0."""
    if os.environ.get("UVSCOPE_MODERN_ENGINES") == "0":
        pytest.skip("UVSCOPE_MODERN_ENGINES=0")
    engine = harness.PODMAN5
    ping = harness.docker("version", "--format", "{{.Server.Version}}", check=False, engine=engine)
    if ping.returncode != 0:
        pytest.fail(f"the podman tests need podman 5's service (bash tests/setup-engine.sh starts it): {ping.stderr.strip()}")
    return engine


@pytest.fixture(params=["docker 20.10", "docker 26"])
def each_engine(request, monkeypatch) -> tuple[harness.Engine, str]:
    """(engine, the `layers` image on it), once per engine, with `DOCKER_HOST` naming that engine as a user
    would set it: for the tests that must hold on both engines."""
    if request.param == "docker 26":
        engine, image = request.getfixturevalue("docker26"), request.getfixturevalue("layers_image26")
        monkeypatch.setenv("DOCKER_HOST", engine.host)
    else:
        engine, image = harness.DEFAULT, request.getfixturevalue("layers_image")
    return engine, image


@pytest.fixture(scope="session")
def layers_image(engine) -> str:
    """The `layers` fixture image: a uv project plus overwrites, deletes, an opaque folder, links."""
    return harness.build_fixture("layers")


def _cache_folder(reference: str) -> Path:
    image_id = harness.docker("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()
    folder = CACHE / image_id.replace("sha256:", "")[:16]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def layers_archive(layers_image) -> Path:
    """`docker save` of the layers image (cached on disk by image id)."""
    return harness.save_image(layers_image, _cache_folder(layers_image) / "image.tar")


@pytest.fixture(scope="session")
def layers_oci(layers_image) -> Path:
    """An OCI layout folder made from the layers image by `skopeo copy`."""
    return harness.skopeo_oci(layers_image, _cache_folder(layers_image) / "oci")


@pytest.fixture(scope="session")
def layers_oci_archive(layers_image) -> Path:
    """An OCI layout tar (`oci-archive:`) made from the layers image by skopeo."""
    return harness.skopeo_oci_archive(layers_image, _cache_folder(layers_image) / "oci.tar")


@pytest.fixture(scope="session")
def numpy_image(engine) -> str:
    """A uv project with numpy, bytecode compiled, the uv docs' bind-mount pattern."""
    return harness.build_fixture("numpy")


@pytest.fixture(scope="session")
def workspace_image(engine) -> str:
    """A workspace member image: `uv sync --package api` in a three-package workspace."""
    return harness.build_fixture("workspace")


@pytest.fixture(scope="session")
def mixed_image(engine) -> str:
    """Debian python packages, pip into the system interpreter, a forced reinstall later."""
    return harness.build_fixture("mixed")


@pytest.fixture(scope="session")
def tagged_images(engine, tmp_path_factory) -> dict[str, str]:
    """uvscope-test/tags:v1, v2 (only the version bumped) and v3 (v1 plus requests), built in that order."""
    import shutil
    import subprocess

    base = harness.IMAGES / "tags"
    uv = str(Path(harness.uv_binary()))
    refs = {}
    for tag in ("v1", "v2", "v3"):
        folder = tmp_path_factory.mktemp(f"tags-{tag}") / "project"
        shutil.copytree(base, folder)
        pyproject = folder / "pyproject.toml"
        if tag == "v2":
            pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"'))
        if tag == "v3":
            pyproject.write_text(pyproject.read_text().replace('"idna>=3.4"]', '"idna>=3.4", "requests>=2.31"]'))
        if tag != "v1":
            subprocess.run([uv, "lock", "-q"], cwd=folder, check=True, capture_output=True, timeout=600)
        built = harness.build_fixture(f"tags-{tag}", folder=folder)
        harness.docker("tag", built, f"uvscope-test/tags:{tag}")
        refs[tag] = f"uvscope-test/tags:{tag}"
    return refs


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """An anonymous registry on loopback (started here, stopped at the end)."""
    server = harness.Registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def private_registry(tmp_path_factory):
    """A registry behind htpasswd basic auth."""
    server = harness.Registry(tmp_path_factory.mktemp("private-registry"), user="alice", password="s3cret-pass")
    yield server
    server.stop()
