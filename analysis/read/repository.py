"""The images of a repository's tags: the engine's local tags, or a registry's `/v2/<name>/tags/list`.

`uvscope history REPO` reports churn across them, and `optimize --suggest
--history-images REPO` plans the groups from the changes between them: both
list the tags here. Only metadata is read (the engine's inspect data, or a
registry's manifests and configs); the callers order the images by creation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UvscopeError
from ..image.model import ImageMeta

REGISTRY_PREFIXES = ("registry://", "registry+http://")


@dataclass(frozen=True)
class Repository:
    """The images a repository's tags name, and what was asked for and not found."""

    name: str
    metas: tuple[ImageMeta, ...]
    refs: tuple[str, ...]
    """The reference that opens each image (`registry://host/repo:tag`, or the engine's `repo:tag`)."""
    missing: tuple[str, ...] = ()
    """Tags asked for (`--tags`) that name no image."""


def names_repository(refs: Sequence[str]) -> bool:
    """Whether `refs` is one repository (all its tags) rather than images: a registry repository,
    or an engine name with no tag and no digest (`app`, `ghcr.io/org/app`, not `app:v1`)."""
    if len(refs) != 1:
        return False
    ref = refs[0]
    return ref.startswith(REGISTRY_PREFIXES) or (":" not in ref.rpartition("/")[2] and "@" not in ref)


def repository_images(name: str, tags: Sequence[str] | None = None, client=None) -> Repository:
    """Every tag of the repository `name` (only `tags` if given), tag order; raises when none is left.

    `registry://host/repo` (or `registry+http://`) lists the registry's tags; any
    tag in that reference is ignored. A plain name lists the engine's local tags.
    """
    wanted = set(tags) if tags else None
    if "@" in name:
        raise UvscopeError(f"{name}: a repository is named without a digest (its tags are listed)")
    if name.startswith(REGISTRY_PREFIXES):
        from .registry import RegistryClient, parse_registry_ref
        from .sources import open_source

        found = RegistryClient(parse_registry_ref(name)).tags()
        base = name.rsplit(":", 1)[0] if ":" in name.rpartition("/")[2] else name
        chosen_refs = [f"{base}:{tag}" for tag in found if wanted is None or tag in wanted]
        # Manifests and configs only: opening a registry source reads no layer.
        metas = [open_source(ref).meta() for ref in chosen_refs]
    else:
        from .engine import EngineImage, engine_client, familiar_ref

        client = client or engine_client()
        # the engine spells its tags `app:1`, whether the user wrote `app`, `library/app` or `docker.io/library/app`
        familiar = (familiar_ref(name) or f"{name}:latest").rpartition(":")[0]
        refs = sorted({tag for image in client.images.list(name=familiar) for tag in image.tags if tag.rpartition(":")[0] == familiar})
        found = [ref.rpartition(":")[2] for ref in refs]
        chosen_refs = [ref for ref in refs if wanted is None or ref.rpartition(":")[2] in wanted]
        metas = [EngineImage(ref, client).meta() for ref in chosen_refs]
    missing = tuple(tag for tag in (tags or ()) if tag and tag not in set(found))
    if not metas:
        where = "tags of {!r} in the registry" if name.startswith(REGISTRY_PREFIXES) else "local tags of {!r} in the Docker Engine"
        extra = f" (no tag {', '.join(missing)})" if missing else ""
        raise UvscopeError("no " + where.format(name) + extra)
    return Repository(name, tuple(metas), tuple(chosen_refs), missing)


def images_of(refs: Sequence[str], client=None) -> list[ImageMeta]:
    """Metadata of engine images named one by one."""
    from .engine import EngineImage, engine_client

    client = client or engine_client()
    return [EngineImage(ref, client).meta() for ref in refs]
