"""The names of image sources (`--source`), apart from the readers so the command line starts without them."""

from __future__ import annotations

import os

SOURCE_KINDS = ("auto", "docker", "podman", "archive", "docker-archive", "oci", "oci-archive", "registry")

REF_PREFIXES = {
    "podman://": "podman",
    "docker-archive:": "archive",
    "oci-archive:": "oci",
    "oci:": "oci",
    "docker-daemon:": "docker",
    "registry://": "registry",
    "registry+http://": "registry",
}
"""A reference's prefix -> the source it names (`open_source` honours them with `--source auto`)."""


def split_tag(path: str) -> tuple[str, str | None]:
    """`layout:TAG` -> (`layout`, `TAG`) when `layout` is an archive file or a folder holding an OCI
    layout's `index.json` and the whole does not exist: a plain folder (the project `myapp` next to the
    engine's image `myapp:1.0`) is not a layout."""
    if os.path.exists(path) or ":" not in path:
        return path, None
    base, _, tag = path.rpartition(":")
    layout = os.path.isfile(base) or os.path.isfile(os.path.join(base, "index.json"))
    return (base, tag) if layout and "/" not in tag else (path, None)


def names_engine_image(ref: str, kind: str) -> bool:
    """Whether `open_source(ref, kind)` reads the Docker Engine's image `ref` as it is spelled: no prefix
    naming another source, and (with `auto`) no file, folder or `layout:TAG` on disk by that name."""
    if kind not in ("auto", "docker") or ref.startswith(tuple(REF_PREFIXES)):
        return False
    return kind == "docker" or not os.path.exists(split_tag(ref)[0])
