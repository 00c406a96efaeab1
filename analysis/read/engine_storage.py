"""What the local Docker Engine's storage on disk says without its API: the CLI's current context, layer chain IDs,
and a first-paint guess of an image's metadata (`peek_local_meta`) read from the graph driver's image store.

Nothing here imports docker-py: the first paint must not wait for it.
"""

from __future__ import annotations

import hashlib
import json
import os

from ..image.model import ImageMeta


def read_small(path: str) -> bytes | None:
    """The bytes of a small file (at most 64 MiB), None when it is larger or unreadable."""
    try:
        if os.path.getsize(path) > 64 << 20:
            return None
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def docker_config_folder() -> str:
    """The docker CLI's configuration folder: `$DOCKER_CONFIG`, else `~/.docker`."""
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def current_context() -> str:
    """The docker CLI context uvscope talks to when `DOCKER_HOST` is unset: `DOCKER_CONTEXT`, else the
    `currentContext` of the CLI's config (`$DOCKER_CONFIG/config.json`, `~/.docker/config.json`), else `default`."""
    name = os.environ.get("DOCKER_CONTEXT", "")
    if not name:
        try:
            name = str(json.loads(read_small(os.path.join(docker_config_folder(), "config.json")) or b"{}").get("currentContext") or "")
        except (ValueError, AttributeError):
            name = ""
    return name or "default"


def context_endpoint(name: str) -> tuple[str, bool] | None:
    """(engine host, whether it uses TLS) of the docker CLI context `name`, from its store
    (`$DOCKER_CONFIG/contexts/meta/<sha256 of the name>/meta.json`); None if there is no such context."""
    folder = docker_config_folder()
    digest = hashlib.sha256(name.encode()).hexdigest()
    try:
        meta = json.loads(read_small(os.path.join(folder, "contexts", "meta", digest, "meta.json")) or b"null")
        endpoint = meta["Endpoints"]["docker"]
        host = str(endpoint["Host"])
    except (ValueError, KeyError, TypeError):
        return None
    # The CLI speaks TLS to a context exactly when the context store holds TLS material for it.
    return host, os.path.isdir(os.path.join(folder, "contexts", "tls", digest, "docker"))


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The engine's layer chain IDs: chain(0) = diff(0), chain(i) = sha256(chain(i-1) + " " + diff(i))."""
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            chains.append("sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest())
    return chains


DEFAULT_SOCKET = "unix:///var/run/docker.sock"
"""The engine uvscope and the docker CLI talk to when nothing names another."""
_DEFAULT_ROOT = "/var/lib/docker"


def familiar_ref(ref: str) -> str | None:
    """`ref` as the engine's reference store spells it (`ubuntu:latest` for `docker.io/library/ubuntu`), None if unsure."""
    if not ref or ref != ref.strip() or any(char.isspace() for char in ref):
        return None
    name, at, digest = ref.partition("@")
    head, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        head, tag = name, ("" if at else "latest")
    for prefix in ("docker.io/", "index.docker.io/"):
        if head.startswith(prefix):
            head = head[len(prefix) :]
            break
    if head.startswith("library/") and head.count("/") == 1:
        head = head[len("library/") :]
    if not head or head != head.lower():
        return None
    return f"{head}{':' + tag if tag else ''}{at}{digest}"


def _engine_listening(path: str = DEFAULT_SOCKET.removeprefix("unix://")) -> bool:
    """Whether an engine answers on the default socket (a stopped engine's storage on disk is not its images)."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.2)
            probe.connect(path)
        return True
    except OSError:
        return False


def peek_local_meta(ref: str) -> ImageMeta | None:
    """The metadata of engine image `ref` read straight from the local engine's storage, without docker-py.

    A guess for the first paint only: it needs this process to read the storage of the engine at the
    default socket, and the caller confirms it through the engine's API (`EngineImage.meta`) afterwards.
    None whenever anything is unusual (another `DOCKER_HOST` or docker context, no engine listening, containerd's image
    store, an ID prefix, a reference not found).
    """
    if os.environ.get("DOCKER_HOST", DEFAULT_SOCKET) != DEFAULT_SOCKET or current_context() != "default":
        return None
    familiar = familiar_ref(ref)
    if familiar is None or not _engine_listening():
        return None
    try:
        settings = json.loads(read_small("/etc/docker/daemon.json") or b"{}")
        if (settings.get("features") or {}).get("containerd-snapshotter"):
            return None  # images live in containerd: the graph driver's store on disk is a stale one
        data_root = settings.get("data-root") or settings.get("graph") or _DEFAULT_ROOT
        drivers = os.listdir(os.path.join(data_root, "image"))
        if len(drivers) != 1:
            return None
        root = os.path.join(data_root, "image", drivers[0])
        store = json.loads(read_small(os.path.join(root, "repositories.json")) or b"{}").get("Repositories") or {}
        image_id = None
        for tags in store.values():
            image_id = image_id or tags.get(familiar)
        if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
            return None
        config = json.loads(read_small(os.path.join(root, "imagedb", "content", "sha256", image_id.partition(":")[2])) or b"null")
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    if not diff_ids or not all(isinstance(diff_id, str) for diff_id in diff_ids):
        return None
    from .layout import history_created_by

    repo_tags = sorted(key for tags in store.values() for key, value in tags.items() if value == image_id and "@" not in key)
    return ImageMeta(
        ref=ref,
        id=image_id,
        diff_ids=tuple(diff_ids),
        created_by=history_created_by(config, len(diff_ids)),
        config=config,
        created=str(config.get("created", "")),
        platform="/".join(str(config[key]) for key in ("os", "architecture", "variant") if config.get(key)),
        repo_tags=tuple(repo_tags),
        layer_sizes=tuple(layer_sizes(root, diff_ids)),
    )


def layer_sizes(root: str, diff_ids: list[str]) -> list[int | None]:
    """Each layer's size as the engine's layer store records it (None where unreadable)."""
    sizes: list[int | None] = []
    for chain in chain_ids(diff_ids):
        size = read_small(os.path.join(root, "layerdb", "sha256", chain.partition(":")[2], "size"))
        sizes.append(int(size) if size is not None and size.strip().isdigit() else None)
    return sizes
