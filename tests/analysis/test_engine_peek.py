"""The first paint's peek at the engine's storage: the same metadata the engine's API gives, or nothing.

`peek_local_meta` reads the engine's reference store and image config without
docker-py, so the session can paint its layer list before the API client is
even imported; the session then confirms it through the API. A peek that
cannot be sure must say None, never guess another image.
"""

from __future__ import annotations

import pytest

from uvscope.analysis.read.engine import EngineImage, _familiar_ref, peek_local_meta


@pytest.mark.parametrize(
    ("ref", "familiar"),
    [
        ("ubuntu", "ubuntu:latest"),
        ("docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("index.docker.io/someone/tool", "someone/tool:latest"),
        ("localhost:5000/svc", "localhost:5000/svc:latest"),
        ("localhost:5000/svc:v1", "localhost:5000/svc:v1"),
        ("svc@sha256:" + "a" * 64, "svc@sha256:" + "a" * 64),
        ("library/a/b:1", "library/a/b:1"),
        ("Upper:case", None),
        ("", None),
        (" svc", None),
    ],
)
def test_references_are_spelled_as_the_reference_store_spells_them(ref, familiar):
    assert _familiar_ref(ref) == familiar


def test_another_engine_is_never_peeked_at(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://elsewhere:2375")
    assert peek_local_meta("anything:latest") is None


@pytest.mark.engine
def test_the_peek_equals_the_engines_answer(layers_image, engine):
    peeked = peek_local_meta(layers_image)
    if peeked is None:
        pytest.skip("the engine's storage is not readable by this process (not root on the engine's host)")
    assert peeked == EngineImage(layers_image, engine).meta()


@pytest.mark.engine
def test_an_unknown_image_is_not_peeked(engine):
    assert peek_local_meta("uvscope-test/no-such-image:never") is None
