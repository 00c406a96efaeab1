"""Shared fixtures: the real Docker Engine and the images the tests build on it.

The engine tests never skip silently: without a reachable engine they fail,
unless UVSCOPE_TESTS_NO_ENGINE=1 says to leave them out on purpose.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402

CACHE = Path(os.environ.get("UVSCOPE_TEST_CACHE", Path.home() / ".cache" / "uvscope-tests"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("UVSCOPE_TESTS_NO_ENGINE") == "1":
        skip = pytest.mark.skip(reason="UVSCOPE_TESTS_NO_ENGINE=1")
        for item in items:
            if "engine" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def engine():
    """A docker-py client of the running engine; fails the test if there is none."""
    from uvscope.analysis.engine import engine_client
    from uvscope.analysis.errors import EngineUnavailable

    try:
        return engine_client()
    except EngineUnavailable as error:
        pytest.fail(f"the engine tests need a running Docker Engine (.ci/run starts one): {error}")


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
