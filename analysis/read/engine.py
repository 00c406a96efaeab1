"""The Docker Engine as an image source, through its API (`engine_api`, or docker-py for TLS and ssh).

`inspect` answers from metadata alone (first paint); `export` streams
`docker save` once, without touching the disk. What is read straight from the
engine's storage on disk, without its API, lives in `engine_storage`.
"""

from __future__ import annotations

import io
import json
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import EngineUnavailable, ImageNotFound, ReadCancelled, UvscopeError
from ..image.model import ImageMeta
from .engine_api import EngineAPI, EngineAPIError, EngineNotFound, plain_address
from .engine_storage import (
    DEFAULT_SOCKET,
    chain_ids,
    context_endpoint,
    current_context,
    familiar_ref,
    layer_sizes,
    peek_local_meta,
    read_small,
)

__all__ = ["EngineImage", "chain_ids", "current_context", "engine_client", "familiar_ref", "peek_local_meta", "podman_client"]

EXPORT_CHUNK = 1 << 20


def _docker():
    import docker  # imported here: `uvscope report FILE.tar` must not need it

    return docker


def engine_client():
    """A client of the engine the docker CLI would use: `DOCKER_HOST` (and `DOCKER_TLS_VERIFY`,
    `DOCKER_CERT_PATH`), else the current docker context (`DOCKER_CONTEXT`, `docker context use`), else the
    default socket; or a clear error. A socket or plain TCP gets uvscope's own `EngineAPI`, TLS and ssh docker-py."""
    host = os.environ.get("DOCKER_HOST", "")
    context = "default" if host else current_context()
    named = f" (docker context {context})" if context != "default" else ""
    tls = False
    if context == "default":
        host = host or DEFAULT_SOCKET
        tls = bool(os.environ.get("DOCKER_TLS_VERIFY"))
    else:
        found = context_endpoint(context)
        if found is None:
            raise _no_context(context)
        host, tls = found
    try:
        if not tls and plain_address(host) is not None:
            client = EngineAPI(host, timeout=120)
        else:
            client = _docker_py_client(context)
        if not client.ping():
            raise EngineAPIError(0, "the engine did not answer its ping")
    except Exception as error:  # noqa: BLE001 - socket, HTTP or docker-py errors: all mean "no engine here"
        if not _engine_error(error):
            raise
        raise EngineUnavailable(f"cannot reach the Docker Engine at {host}{named}: is dockerd running? ({_short(error)})") from None
    return client


def _docker_py_client(context: str):
    docker = _docker()
    if context == "default":
        return docker.from_env(timeout=120)
    from docker.context import ContextAPI

    found = ContextAPI.get_context(context)
    if found is None:
        raise _no_context(context)
    return docker.DockerClient(base_url=str(found.Host), tls=found.TLSConfig or False, timeout=120)


def _no_context(context: str) -> EngineUnavailable:
    return EngineUnavailable(f"no docker context {context!r} (docker context ls lists them; DOCKER_HOST overrides)")


def _engine_error(error: Exception) -> bool:
    """Whether `error` is the engine failing (unreachable, or an error status), not a bug of uvscope's."""
    if isinstance(error, (OSError, EngineAPIError)):
        return True
    docker = sys.modules.get("docker")
    return docker is not None and isinstance(error, docker.errors.DockerException)


def podman_sockets() -> list[str]:
    """Where podman's Docker-compatible API socket usually is: `CONTAINER_HOST`, the user's, then root's."""
    places = []
    host = os.environ.get("CONTAINER_HOST", "")
    if host.startswith("unix://"):
        places.append(host[len("unix://") :])
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    places += [os.path.join(runtime, "podman", "podman.sock"), "/run/podman/podman.sock", "/var/run/podman/podman.sock"]
    return list(dict.fromkeys(places))


def podman_client():
    """A client on podman's socket (podman speaks the Docker API), or a clear error naming where it looked."""
    places = podman_sockets()
    found = next((place for place in places if os.path.exists(place)), None)
    if found is None:
        raise EngineUnavailable(
            f"no podman socket (looked in {', '.join(places)}): start it with `systemctl --user start podman.socket` "
            "or set CONTAINER_HOST=unix:///path/to/podman.sock"
        )
    try:
        client = EngineAPI(f"unix://{found}", timeout=120)
        client.ping()
    except (OSError, EngineAPIError) as error:
        raise EngineUnavailable(f"cannot reach podman at {found}: is `podman system service` running? ({_short(error)})") from None
    return client


def _short(error: Exception) -> str:
    """One line for an engine error: the engine's own explanation first (docker-py puts a long URL before it)."""
    explanation = getattr(error, "explanation", None)
    status = getattr(error, "status_code", None) or getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(explanation, (str, bytes)) and explanation:
        if isinstance(explanation, bytes):
            explanation = explanation.decode(errors="replace")
        text = f"{status} {explanation}" if status else explanation
        text = " ".join(text.split())
    else:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _api_call(function, ref: str, *args, **kwargs):
    try:
        return function(ref, *args, **kwargs)
    except Exception as error:  # noqa: BLE001 - sorted below: the engine's errors become uvscope's, others propagate
        docker = sys.modules.get("docker")
        if isinstance(error, EngineNotFound) or (docker is not None and isinstance(error, docker.errors.ImageNotFound)):
            raise ImageNotFound(f"no image {ref!r} in the Docker Engine (docker pull it, or give a path to an archive)") from None
        if docker is not None and isinstance(error, docker.errors.NotFound):
            raise ImageNotFound(f"no image {ref!r} in the Docker Engine") from None
        if isinstance(error, EngineAPIError) or (docker is not None and isinstance(error, docker.errors.APIError)):
            raise UvscopeError(f"Docker Engine error for {ref!r}: {_short(error)}") from None
        if _engine_error(error):
            raise EngineUnavailable(f"lost the Docker Engine while reading {ref!r}: {_short(error)}") from None
        raise


def _history_layers(history: list[dict], diff_ids: list[str]) -> list[dict]:
    """Pair the engine's history (newest first) with layers, as well as metadata allows.

    The history endpoint does not say which entries are `empty_layer`; the
    config read later from the export stream does, and replaces this guess.
    """
    oldest_first = list(reversed(history))
    with_size = [entry for entry in oldest_first if entry.get("Size")]
    if len(oldest_first) == len(diff_ids):
        chosen = oldest_first
    elif len(with_size) == len(diff_ids):
        chosen = with_size
    else:
        return [{} for _ in diff_ids]
    return chosen


class EngineImage:
    """One image of the Docker Engine."""

    def __init__(self, ref: str, client=None) -> None:
        self.ref = ref
        self.client = client or engine_client()
        self.inspect_data: dict[str, Any] = _api_call(self.client.api.inspect_image, ref)
        self.has_local_config = False
        self.fast_path_note = ""
        """Why the engine's local storage could not be read (empty when it could, or when no reason is worth a line)."""

    def _storage(self) -> tuple[str, str] | None:
        """(DockerRootDir, storage driver) of the engine, when it says."""
        if not hasattr(self, "_info"):
            try:
                self._info = self.client.info()
            except Exception:  # noqa: BLE001 - any failure only means "no local shortcut"
                self._info = {}
            if not isinstance(self._info, dict):
                self._info = {}
        root, driver = self._info.get("DockerRootDir"), self._info.get("Driver")
        return (str(root), str(driver)) if root and driver else None

    def containerd_store(self) -> bool:
        """Whether the engine keeps its images in containerd (the containerd image store, `containerd-snapshotter`)."""
        from .containerd import uses_containerd_store

        self._storage()
        return uses_containerd_store(self._info)

    def local_layer_folders(self) -> list[tuple[str, str | Callable[[], dict[str, int]]]] | None:
        """Each layer's folder (overlay2 `diff`, or the containerd snapshot's `fs`) and where its original tar order is
        (the tar-split file, or a function reading it from the content store's blob), when this process can read them
        all; else None, and `fast_path_note` says why where the reason is worth a line."""
        from .overlay import layer_folder

        self.fast_path_note = ""
        storage = self._storage()
        if storage is None:
            return None
        diff_ids = list((self.inspect_data.get("RootFS") or {}).get("Layers") or [])
        if not diff_ids:
            return None
        if self.containerd_store():
            from .containerd import SNAPSHOTTER, snapshot_folders

            if storage[1] != SNAPSHOTTER:
                self.fast_path_note = f"the containerd image store's {storage[1]} snapshotter has no folders uvscope reads"
                return None
            found, why = snapshot_folders(storage[0], chain_ids(diff_ids))
            if found is None:
                self.fast_path_note = f"the containerd image store's snapshots are not readable here ({why})"
                return None
            from functools import partial

            from .containerd import blob_tar_order, layer_blobs

            data = self.inspect_data
            platform = "/".join(str(data[key]) for key in ("Os", "Architecture") if data.get(key))
            blobs = layer_blobs(storage[0], str(data.get("Id", "")), platform)
            blobs += [None] * (len(found) - len(blobs))
            return [(folder, partial(blob_tar_order, blob)) for folder, blob in zip(found, blobs)]
        folders = [layer_folder(storage[0], storage[1], chain) for chain in chain_ids(diff_ids)]
        return folders if all(folder is not None for folder in folders) else None  # type: ignore[return-value]

    def _local_metadata(self, diff_ids: list[str]) -> tuple[dict | None, list[int | None]]:
        """The image config and layer sizes from the engine's own storage, when this process can read it.

        The history endpoint cannot tell empty-layer entries apart; the config can.
        """
        storage = self._storage()
        if storage is None:
            return None, [None] * len(diff_ids)
        if self.containerd_store():
            return self._containerd_metadata(storage[0], diff_ids)
        root = os.path.join(storage[0], "image", storage[1])
        image_id = str(self.inspect_data.get("Id", "")).partition(":")[2]
        raw = read_small(os.path.join(root, "imagedb", "content", "sha256", image_id)) if image_id else None
        config = None
        if raw is not None:
            try:
                config = json.loads(raw)
            except ValueError:
                config = None
        return (config if isinstance(config, dict) else None), layer_sizes(root, diff_ids)

    def _containerd_metadata(self, docker_root: str, diff_ids: list[str]) -> tuple[dict | None, list[int | None]]:
        """The config from containerd's content store; each layer's size from the engine's history, paired with
        the config's history (which says which entries are empty layers)."""
        from .containerd import image_config

        data = self.inspect_data
        platform = "/".join(str(data[key]) for key in ("Os", "Architecture") if data.get(key))
        config = image_config(docker_root, str(data.get("Id", "")), platform, diff_ids)
        if config is None:
            return None, [None] * len(diff_ids)
        history = [item for item in config.get("history") or [] if isinstance(item, dict)]
        entries = list(reversed(_api_call(self.client.api.history, self.ref) or []))
        if len(entries) != len(history):
            return config, [None] * len(diff_ids)
        sizes = [entry.get("Size") for entry, item in zip(entries, history) if not item.get("empty_layer")]
        if len(sizes) != len(diff_ids):
            return config, [None] * len(diff_ids)
        return config, [size if isinstance(size, int) else None for size in sizes]

    def meta(self) -> ImageMeta:
        """Metadata-only view of the image: layers and their commands, no layer read."""
        data = self.inspect_data
        diff_ids = list((data.get("RootFS") or {}).get("Layers") or [])
        config, local_sizes = self._local_metadata(diff_ids)
        self.has_local_config = config is not None
        if config is not None:
            from .layout import history_created_by

            commands = history_created_by(config, len(diff_ids))
            sizes = local_sizes
        else:
            entries = _history_layers(_api_call(self.client.api.history, self.ref) or [], diff_ids)
            commands = tuple(str(entry.get("CreatedBy", "")) for entry in entries)
            sizes = [entry.get("Size") if isinstance(entry.get("Size"), int) else None for entry in entries]
        return ImageMeta(
            ref=self.ref,
            id=str(data.get("Id", "")),
            diff_ids=tuple(diff_ids),
            created_by=commands,
            config=config if config is not None else dict(data.get("Config") or {}),
            created=str(data.get("Created", "")),
            platform="/".join(str(data[key]) for key in ("Os", "Architecture", "Variant") if data.get(key)),
            repo_tags=tuple(data.get("RepoTags") or ()),
            layer_sizes=tuple(sizes),
        )

    @property
    def size(self) -> int:
        """The engine's figure for the image size (close to the export stream's length)."""
        return int(self.inspect_data.get("Size") or 0)

    def export(self, cancelled: Callable[[], bool] | None = None) -> io.BufferedReader:
        """The `docker save` stream of this image, as a file to read once.

        The HTTP stream is pulled by a daemon thread, so a reader that is `cancelled()` stops at once
        (`ReadCancelled`) even while the engine is still preparing the export and sends nothing: the
        process can exit without draining gigabytes first.
        """
        ident = self.inspect_data.get("Id") or self.ref

        def chunks() -> Iterator[bytes]:
            return iter(_api_call(self.client.api.get_image, ident, chunk_size=EXPORT_CHUNK))

        return io.BufferedReader(_ChunkStream(chunks, self.ref, cancelled), EXPORT_CHUNK)


_END = object()


class _ChunkStream(io.RawIOBase):
    """A raw stream over the client's chunk generator, pulled by a daemon thread through a small queue."""

    POLL = 0.1
    """Seconds between checks of `cancelled` while no chunk arrives."""

    def __init__(self, make_chunks: Callable[[], Iterator[bytes]], ref: str, cancelled: Callable[[], bool] | None = None) -> None:
        self._ref = ref
        self._cancelled = cancelled or (lambda: False)
        self._pending = memoryview(b"")
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._closing = threading.Event()
        self._done = False
        self._pump = threading.Thread(target=self._run, args=(make_chunks,), name=f"export {ref}", daemon=True)
        self._pump.start()

    def _run(self, make_chunks: Callable[[], Iterator[bytes]]) -> None:
        try:
            for chunk in make_chunks():
                while not self._closing.is_set():
                    try:
                        self._queue.put(chunk, timeout=self.POLL)
                        break
                    except queue.Full:
                        continue
                if self._closing.is_set():
                    return  # closed: stop pulling; the connection goes with the generator
            self._queue.put(_END)
        except Exception as error:  # noqa: BLE001 - handed to the reader, which says what broke
            self._queue.put(error)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            if self._done:
                return 0
            try:
                item = self._queue.get(timeout=self.POLL)
            except queue.Empty:
                if self._cancelled():
                    raise ReadCancelled() from None
                continue
            if item is _END:
                self._done = True
                return 0
            if isinstance(item, UvscopeError):
                raise item
            if isinstance(item, Exception):  # urllib3/requests errors when the engine goes away
                raise EngineUnavailable(f"the export stream of {self._ref!r} broke: {_short(item)}") from None
            self._pending = memoryview(item)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        self._closing.set()
        super().close()
