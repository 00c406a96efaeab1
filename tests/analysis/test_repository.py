"""A repository's tags, however the user spells the repository (`analysis/read/repository.py`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.read import engine
from uvscope.analysis.read.repository import repository_images


class _Client:
    """An engine holding app:1, app:2 and other:1; `images.list(name=…)` filters as the engine does."""

    def __init__(self) -> None:
        tagged = [SimpleNamespace(tags=["app:1"]), SimpleNamespace(tags=["app:2", "other:1"])]
        self.asked: list[str] = []

        def listed(name: str):
            self.asked.append(name)
            return [image for image in tagged if any(tag.rpartition(":")[0] == name for tag in image.tags)]

        self.images = SimpleNamespace(list=listed)


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(engine, "EngineImage", lambda ref, client: SimpleNamespace(meta=lambda: ref))
    return _Client()


@pytest.mark.parametrize("name", ["app", "library/app", "docker.io/library/app", "index.docker.io/library/app"])
def test_every_spelling_of_a_repository_lists_its_tags(client, name):
    found = repository_images(name, client=client)
    assert found.refs == ("app:1", "app:2") and client.asked == ["app"]


def test_a_digest_is_not_a_repository(client):
    with pytest.raises(UvscopeError, match="without a digest"):
        repository_images("registry://localhost:5000/app@sha256:" + "a" * 64, client=client)
