"""The registries `--prove` pushes to: one it starts on loopback, or one the user names; and the push itself.

`ScratchRegistry` runs Debian's `docker-registry` on a free loopback port
with its filesystem storage in a scratch folder, one per Dockerfile, so what
a push uploaded is exactly the blob files that appeared (`storage_blobs`).
`NamedRegistry` is `--prove-registry HOST:PORT`: its repository's blobs are
read through the /v2 API (every tag's manifests, configs and layers), and the
tags `--prove` pushed are deleted afterwards where the registry allows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from ..errors import ImageNotFound, UvscopeError
from .push_cost import Pushed, manifest_blobs, pushed, storage_blobs

REGISTRY_BINARIES = ("docker-registry", "registry")
"""Debian's name for the distribution registry, and upstream's."""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _reachable(host: str, timeout: float = 2.0) -> str | None:
    """None when `host` answers the registry API's /v2/ (200, or 401 asking for a login), else why not."""
    try:
        urllib.request.urlopen(f"http://{host}/v2/", timeout=timeout)
        return None
    except urllib.error.HTTPError as error:
        return None if error.code == 401 else f"/v2/ answered {error.code}"
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return str(getattr(reason, "strerror", None) or reason)


class ScratchRegistry:
    """Debian's docker-registry on a free loopback port, its storage in `folder` (removed with it)."""

    record = "registry storage"

    def __init__(self, folder: str, binary: str | None = None) -> None:
        binary = binary or next((found for name in REGISTRY_BINARIES if (found := shutil.which(name))), None)
        if binary is None:
            raise UvscopeError(
                "--prove pushes to a registry on loopback: docker-registry is not installed "
                "(apt-get install docker-registry), or name one with --prove-registry HOST:PORT, or give --no-push"
            )
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        self.root = os.path.join(folder, "storage")
        self.host = f"127.0.0.1:{_free_port()}"
        config = os.path.join(folder, "config.yml")
        with open(config, "w", encoding="utf-8") as handle:  # our own scratch folder, not a user file
            handle.write(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {self.root}\n  delete:\n    enabled: true\nhttp:\n  addr: {self.host}\n"
            )
        self.log = open(os.path.join(folder, "registry.log"), "w", encoding="utf-8")
        self.process = subprocess.Popen([binary, "serve", config], stdout=self.log, stderr=self.log)
        for _ in range(100):
            if self.process.poll() is not None:
                break
            if _reachable(self.host, 0.5) is None:
                return
            time.sleep(0.1)
        self.stop()
        raise UvscopeError(f"--prove: {binary} did not start on {self.host} (see its log: {self.log.name})")

    def blobs(self, repository: str) -> dict[str, int]:
        """Every blob the registry holds (it holds only this Dockerfile's repository)."""
        return storage_blobs(self.root)

    def forget(self, repository: str, tags: list[str]) -> None:
        """Nothing to do: the folder goes with `stop`."""

    def stop(self) -> None:
        """End the registry process (ours: its own pid)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


class NamedRegistry:
    """`--prove-registry HOST:PORT`: a registry the user runs; read through its /v2 API."""

    record = "registry API"

    def __init__(self, host: str) -> None:
        host = host.removeprefix("http://").rstrip("/")
        if not host or "/" in host:
            raise UvscopeError(f"--prove-registry {host!r}: give HOST:PORT (e.g. 127.0.0.1:5000)")
        why = _reachable(host)
        if why is not None:
            raise UvscopeError(f"--prove-registry {host}: cannot reach the registry ({why})")
        self.host = host
        self.blobs("uvscope-prove/probe")  # a login it wants and docker lacks ends here, before anything is built

    def _client(self, repository: str):
        from ..read.registry import RegistryClient, parse_registry_ref

        return RegistryClient(parse_registry_ref(f"registry+http://{self.host}/{repository}"))

    def _manifest(self, client, reference: str) -> tuple[dict, str, int]:
        from ..read.registry import MANIFEST_TYPES

        response = client.get(f"manifests/{reference}", accept=MANIFEST_TYPES)
        body = response.content
        digest = response.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        try:
            return json.loads(body), digest, len(body)
        except ValueError:
            raise UvscopeError(f"--prove-registry {self.host}: the manifest of {reference} is not JSON") from None

    def blobs(self, repository: str) -> dict[str, int]:
        """Every blob the repository's tags name, manifests included (one line naming the registry if it refuses)."""
        try:
            return self._blobs(repository)
        except ImageNotFound:
            return {}  # a repository nothing was pushed to yet
        except UvscopeError as error:
            raise UvscopeError(f"--prove-registry {self.host}: {error}") from None

    def _blobs(self, repository: str) -> dict[str, int]:
        client = self._client(repository)
        tags = client.tags()
        found: dict[str, int] = {}
        pending = list(tags)
        seen: set[str] = set()
        while pending:
            reference = pending.pop()
            if reference in seen:
                continue
            seen.add(reference)
            manifest, digest, size = self._manifest(client, reference)
            blobs, children = manifest_blobs(manifest, digest, size)
            found.update(blobs)
            pending += children
        return found

    def forget(self, repository: str, tags: list[str]) -> None:
        """Delete the tags `--prove` pushed (best effort: a registry may not allow deletes)."""
        client = self._client(repository)
        for tag in tags:
            try:
                _, digest, _ = self._manifest(client, tag)
                request = urllib.request.Request(f"http://{self.host}/v2/{repository}/manifests/{digest}", method="DELETE")
                urllib.request.urlopen(request, timeout=10)
            except (UvscopeError, OSError, ValueError):
                continue

    def stop(self) -> None:
        """The user's registry keeps running."""


def push(docker: str, reference: str, registry_host: str, *, env: dict[str, str] | None = None, podman: bool = False) -> None:
    """`docker push reference` (plain HTTP to loopback, as Docker allows for 127.0.0.0/8); one line if refused."""
    args = [docker, "push", *(("--tls-verify=false",) if podman else ()), reference]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=7200, env=env)
    except subprocess.TimeoutExpired:
        raise UvscopeError(f"--prove: pushing {reference} to {registry_host} did not finish in 2 hours") from None
    if result.returncode != 0:
        # the client's error is on stderr; stdout's last line is a layer's progress ("Preparing")
        lines = [line.strip() for line in (result.stderr if result.stderr.strip() else result.stdout).splitlines() if line.strip()]
        raise UvscopeError(f"--prove: the registry {registry_host} refused the push of {reference}: {lines[-1] if lines else 'no output'}")


def measured_push(registry: ScratchRegistry | NamedRegistry, repository: str, run_push) -> Pushed:
    """Push (`run_push()`), reading the registry's blobs before and after: what the push uploaded."""
    before = registry.blobs(repository)
    run_push()
    return pushed(before, registry.blobs(repository), registry.record)
