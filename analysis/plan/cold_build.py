"""A cold CI builder, planned: what the previous job exports, what the next one imports, what CI must say.

A CI runner starts with an empty BuildKit cache; all it can reuse is what the
previous job pushed. Two ways, by builder:

- Docker 20.10's own BuildKit (no buildx): an *inline* cache, the cache
  records written into the pushed image's config (`--build-arg
  BUILDKIT_INLINE_CACHE=1`), read back with `--cache-from IMAGE`. It is
  `mode=min`: only the final image's own steps are recorded, so the steps of
  other stages (uvscope's group stages in a multi-stage rewrite) re-run.
- buildx (Docker 23+): a registry cache `type=registry,mode=max`, which
  records every stage's steps, exported next to the image and imported by
  the next job. With it the group stages are reused from the registry.

`--prove-cold` follows these plans; `optimize` prints the GitHub Actions lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dockerfile import Dockerfile

INLINE = "inline"
REGISTRY_MAX = "registry,mode=max"


@dataclass(frozen=True)
class CachePlan:
    """The build options of the job before the change (it exports) and of the cold rebuild (it imports)."""

    mode: str
    exporting: tuple[str, ...]
    """Options of the build whose image (and cache) the previous job pushed."""
    importing: tuple[str, ...]
    """Options of the cold rebuild: what it imports, and what it exports again for the next job."""
    pushes_cache: bool
    """The cache is a registry artifact of its own (pushed by the build itself, next to the image)."""


def cache_plan(buildx: bool, image: str, cache: str) -> CachePlan:
    """How a CI job exports and imports its build cache: `image` is the pushed image, `cache` the registry
    cache's reference (buildx only)."""
    if buildx:
        export = ("--cache-to", f"type=registry,ref={cache},mode=max")
        return CachePlan(REGISTRY_MAX, export, ("--cache-from", f"type=registry,ref={cache}", *export), True)
    inline = ("--build-arg", "BUILDKIT_INLINE_CACHE=1")
    return CachePlan(INLINE, inline, ("--cache-from", image, *inline), False)


def github_actions_lines(image: str) -> list[str]:
    """The lines to add to a `docker/build-push-action` step so the next job reuses the group stages."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    cache = f"{repository}:buildcache"
    return [
        f"cache-from: type=registry,ref={cache}",
        f"cache-to: type=registry,ref={cache},mode=max",
    ]


def external_images(dockerfile: Dockerfile) -> list[str]:
    """Images the Dockerfile builds from (`FROM`, `COPY --from=IMAGE`, `RUN --mount=from=IMAGE`) that are not
    its own stages: what a cold builder must have (pulled, on CI) before it can build."""
    found: list[str] = []
    stage_names = {stage.name.lower() for stage in dockerfile.stages if stage.name}

    def add(reference: str, before: int) -> None:
        if not reference or reference.lower() == "scratch" or reference.isdigit() or "$" in reference:
            return
        if dockerfile.find_stage(reference, before) is not None or reference.lower() in stage_names:
            return
        if reference not in found:
            found.append(reference)

    for stage in dockerfile.stages:
        add(stage.base, stage.index)
        for _, instruction in dockerfile.stage_instructions(stage.index):
            if instruction.keyword in ("COPY", "ADD"):
                add(instruction.flag("from") or "", stage.index + 1)
            elif instruction.keyword == "RUN":
                for flag in instruction.flags:
                    if flag.startswith("--mount="):
                        spec = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(",") if part)
                        add(spec.get("from", ""), stage.index + 1)
    return found
