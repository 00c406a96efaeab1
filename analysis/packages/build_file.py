"""Which file of a project folder is its image's build file when none is named.

`docker build` reads `Dockerfile`; podman and buildah read `Containerfile`
(and fall back to `Dockerfile`). uvscope reads `Dockerfile` when there is one,
so a Docker project behaves as before, else `Containerfile`.
"""

from __future__ import annotations

import os

BUILD_FILE_NAMES = ("Dockerfile", "Containerfile")
"""The names looked for, in order."""


def project_dockerfile(project_dir: str) -> str:
    """The path of the project's Dockerfile or, when it has none, its Containerfile; `DIR/Dockerfile` when
    it has neither (callers check that the file exists)."""
    for name in BUILD_FILE_NAMES:
        path = os.path.join(project_dir, name)
        if os.path.isfile(path):
            return path
    return os.path.join(project_dir, BUILD_FILE_NAMES[0])
