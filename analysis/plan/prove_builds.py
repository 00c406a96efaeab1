"""The engine side of `--prove`: finding a client that builds with BuildKit, running it, reading what it
built, and the builds, pushes and cleanup of one proof (`ProofRunner`), every tag, registry and engine
it made undone at the end."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UvscopeError
from .cold_build import cache_plan, external_images
from .project_edit import uv_environment
from .push_cost import Pushed

if TYPE_CHECKING:
    from .cold_engine import ColdEngine
    from .optimize import OptimizePlan
    from .registry_run import NamedRegistry, ScratchRegistry


@dataclass(frozen=True)
class BuiltImage:
    """One image the proof built, as the engine reports it."""

    tag: str
    diff_ids: tuple[str, ...]
    sizes: tuple[int, ...]
    created_by: tuple[str, ...]

    @property
    def size(self) -> int:
        return sum(self.sizes)


def find_docker(explicit: str | None = None) -> str:
    """A docker client that can build with BuildKit (`UVSCOPE_DOCKER`, else `docker` on PATH, else /usr/bin/docker)."""
    candidates = [explicit or os.environ.get("UVSCOPE_DOCKER") or ""] + [shutil.which("docker") or "", "/usr/bin/docker"]
    tried = []
    for candidate in dict.fromkeys(c for c in candidates if c):
        if not os.path.exists(candidate) and not shutil.which(candidate):
            continue
        tried.append(candidate)
        if run_command([candidate, "buildx", "version"], check=False).returncode == 0:
            return candidate
        version = run_command([candidate, "version", "--format", "{{.Client.Version}}"], check=False).stdout.strip()
        if re.match(r"(1\d|2[0-2])\.", version):  # clients before 23 carry BuildKit themselves
            return candidate
    if not tried:
        raise UvscopeError("--prove needs a Docker client and Engine (docker not found on PATH)")
    raise UvscopeError(f"--prove needs BuildKit: {tried[0]} has no buildx plugin (install docker-buildx, or set UVSCOPE_DOCKER)")


def build_command(docker: str) -> tuple[list[str], str]:
    """How `docker` builds so the image lands where uvscope then reads it, and that engine's source kind.

    Podman (`podman --version` says so): `podman build`, read through podman's socket. A client with the buildx
    plugin (Docker 23+, whose `docker build` is buildx): `docker buildx build --load`, since a builder other than
    the engine's own (`docker-container`, `remote`) keeps its result in its build cache unless told to load it, and
    the engine's own builder loads anyway. An older client, which carries BuildKit itself: `docker build` with
    DOCKER_BUILDKIT=1.
    """
    said = run_command([docker, "--version"], check=False).stdout.strip().lower()
    if said.startswith("podman"):
        return [docker, "build"], "podman"
    if run_command([docker, "buildx", "version"], check=False).returncode == 0:
        return [docker, "buildx", "build", "--load"], "docker"
    return [docker, "build"], "docker"


def run_command(
    args: list[str], *, cwd: str | None = None, check: bool = True, timeout: int = 3600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**uv_environment(), "DOCKER_BUILDKIT": "1", **(env or {})}  # uv lock here must really re-lock (no UV_FROZEN...)
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except OSError as error:
        raise UvscopeError(f"cannot run {args[0]}: {error.strerror or error}") from None
    except subprocess.TimeoutExpired:
        raise UvscopeError(f"{' '.join(args[:2])} did not finish in {timeout} s") from None
    if check and result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        said = next((line for line in reversed(lines) if "ERROR" in line or "error" in line), lines[-1] if lines else "no output")
        raise UvscopeError(f"{' '.join(args[:2])} failed: {said.strip()}")
    return result


def inspect_image(tag: str, kind: str = "docker", client=None) -> BuiltImage:
    from ..read.sources import open_source

    source = open_source(tag, kind, client=client)
    try:
        meta = source.meta()
    finally:
        source.close()
    return BuiltImage(tag, meta.diff_ids, tuple(size or 0 for size in meta.layer_sizes), meta.created_by)


class ProofRunner:
    """The builds, pushes and cleanup of one proof: every tag, registry and engine it made, undone at the end."""

    def __init__(self, docker: str, build: list[str], kind: str, options: tuple[str, ...], say, keep_images: bool) -> None:
        self.docker, self.build, self.kind, self.options, self.say = docker, build, kind, options, say
        self.keep_images = keep_images
        self.buildx = build[1:2] == ["buildx"]
        self.tags: list[str] = []
        self.registries: dict[str, ScratchRegistry | NamedRegistry] = {}
        self.pushed_tags: list[tuple[ScratchRegistry | NamedRegistry, str, str]] = []
        self.cold: ColdEngine | None = None

    def open_registries(self, named, scratch: str) -> None:
        from .registry_run import ScratchRegistry

        for label in ("original", "revised"):
            self.registries[label] = named or ScratchRegistry(os.path.join(scratch, f"registry-{label}"))

    def open_cold_engine(self, scratch: str, plan: OptimizePlan) -> str:
        from .cold_engine import ColdEngine
        from .dockerfile import parse_dockerfile

        assert plan.dockerfile is not None and plan.dockerfile.original is not None
        images: list[str] = []
        for text in (plan.dockerfile.original.text, plan.dockerfile.new_text):
            images += [image for image in external_images(parse_dockerfile(text)) if image not in images]
        self.say("starting a throwaway dockerd for the cold rebuilds" + (f", copying {', '.join(images)} into it" if images else ""))
        self.cold = ColdEngine(os.path.join(scratch, "cold"), self.docker, containerd_store=self.buildx)
        self.cold.copy_images(images)
        return cache_plan(self.buildx, "", "").mode

    def build_and_push(
        self, label: str, when: str, dockerfile: str, context: str, tag: str, repository: str, cold: bool
    ) -> tuple[BuiltImage, float, Pushed | None]:
        from .push_cost import pushed

        registry = self.registries.get(label)
        remote = f"{registry.host}/{repository}:{when}" if registry is not None else ""
        options = list(self.options)
        env = None
        engine = None
        if cold and registry is not None:
            plan = cache_plan(self.buildx, f"{registry.host}/{repository}:before", f"{registry.host}/{repository}:buildcache")
            options += plan.exporting if when == "before" else plan.importing
            if plan.pushes_cache and (registry, repository, "buildcache") not in self.pushed_tags:
                self.pushed_tags.append((registry, repository, "buildcache"))
            if when == "after" and self.cold is not None:
                self.cold.empty_cache()
                engine = self.cold
                env = self.cold.env
        before = registry.blobs(repository) if registry is not None else {}
        started = time.monotonic()
        try:
            run_command([*self.build, *options, "-f", dockerfile, "-t", tag, context], env=env)
        except UvscopeError as error:  # e.g. podman's buildah on `COPY --link`: one line, naming which file
            raise UvscopeError(f"--prove: {os.path.basename(self.docker)} cannot build the {label} Dockerfile: {error}") from None
        took = time.monotonic() - started
        if engine is not None:
            engine.built.append(tag)
        else:
            self.tags.append(tag)
        image = inspect_image(tag, self.kind, engine.client() if engine is not None else None)
        if registry is None:
            return image, took, None
        from .registry_run import push

        self.say(f"pushing the {label} image ({when} the change) to {registry.host}")
        run_command([self.docker, "tag", tag, remote], env=env)
        if engine is not None:
            engine.built.append(remote)
        else:
            self.tags.append(remote)
        self.pushed_tags.append((registry, repository, when))
        push(self.docker, remote, registry.host, env=env, podman=self.kind == "podman")
        return image, took, pushed(before, registry.blobs(repository), registry.record)

    def clean_up(self) -> None:
        """Remove what the proof made: tags (unless --keep-images), pushed tags, registries, the cold engine."""
        if not self.keep_images:
            for tag in self.tags:
                run_command([self.docker, "image", "rm", "--no-prune", tag], check=False)
            for registry, repository, tag in self.pushed_tags:
                registry.forget(repository, [tag])
        for registry in {id(r): r for r in self.registries.values()}.values():
            registry.stop()
        if self.cold is not None:
            self.cold.stop()
