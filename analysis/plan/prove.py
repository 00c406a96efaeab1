"""`uvscope optimize --prove`: build the original and the revised Dockerfile, change the project, rebuild, measure.

In two scratch copies of the build context (the user's project is never
touched), the original files and the plan's revised files are built with
BuildKit; then both copies get the same version bump and one new light
dependency (re-locked with uv), and both are built again. For each
Dockerfile the figures are read off the engine: the final image's size,
the bytes of its layers that the second build re-created (a layer whose
`diff_id` the first build did not have), and whether each group's layer in
the final image kept its `diff_id`. This is the proof a user pastes into a
pull request.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass

import tomlkit
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import UvscopeError
from ..files import make_private, write_file
from ..packages.uvlock import parse_lock
from .dockerfile import split_flags
from .optimize import OptimizePlan
from .prove_builds import BuiltImage as BuiltImage
from .prove_builds import ProofRunner
from .prove_builds import build_command as build_command
from .prove_builds import find_docker as find_docker
from .prove_builds import run_command as _run
from .push_cost import Pushed

LIGHT_CANDIDATES = ("idna", "six", "iniconfig", "pyparsing", "tomli-w", "wcwidth")
"""Small pure-Python packages; the first one the lock does not hold yet is the "new light dependency"."""
_IGNORED = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules")


@dataclass(frozen=True)
class DockerfileProof:
    """Before and after the change, for one Dockerfile."""

    label: str
    before: BuiltImage
    after: BuiltImage
    group_layers: dict[str, tuple[str | None, str | None]]
    """Group -> (diff_id before, diff_id after) of its layer in the final image (None: not found)."""
    pushed_before: Pushed | None = None
    """What the first push (the image before the change) uploaded to an empty repository."""
    pushed: Pushed | None = None
    """What the push after the change uploaded: the blobs the registry did not have (None: no push)."""
    rebuild_seconds: float | None = None
    """Wall time of the rebuild after the change (on the cold engine with `--prove-cold`)."""

    @property
    def recreated_bytes(self) -> int:
        known = set(self.before.diff_ids)
        return sum(size for diff_id, size in zip(self.after.diff_ids, self.after.sizes) if diff_id not in known)

    @property
    def recreated_share(self) -> float:
        return self.recreated_bytes / self.after.size if self.after.size else 0.0

    def kept(self, group: str) -> bool:
        before, after = self.group_layers.get(group, (None, None))
        return before is not None and before == after


@dataclass(frozen=True)
class Proof:
    """The whole measurement."""

    change: str
    original: DockerfileProof
    revised: DockerfileProof
    groups: tuple[str, ...]
    predicted: tuple[int, int] | None = None
    """The preview's figures for a version bump (today, with the groups), with package sizes read
    from the original image just built: what `optimize` said, next to what the engine did."""
    registry: str | None = None
    """Where the images were pushed: `scratch` (docker-registry started by --prove) or HOST:PORT."""
    cold: str | None = None
    """With --prove-cold: the cache the cold rebuilds imported (`inline` or `registry,mode=max`)."""


def _predicted_bump(plan: OptimizePlan, tag: str, project_dir: str, kind: str = "docker") -> tuple[int, int] | None:
    """Re-run the Dockerfile preview with exact per-package sizes from the freshly built original image."""
    from ..packages.python import analyse_python
    from ..packages.uvlock import parse_lock
    from ..read.sources import open_source, read_image
    from .dockerfile import parse_dockerfile
    from .grouping import plan_layers
    from .rebuild_cost import CHANGES, group_packages_for, recreated_in_final_image

    source = open_source(tag, kind)
    try:
        image = read_image(source)
    finally:
        source.close()
    python = analyse_python(image, project_dir)
    if python.lock is None or plan.dockerfile is None or plan.dockerfile.original is None:
        return None
    sizes = python.lock.sizes
    with open(plan.lock_path, encoding="utf-8") as handle:
        lock = parse_lock(handle.read(), plan.lock_path)
    groups = group_packages_for(plan_layers(plan.grouping, lock, sizes, plan.member))
    project = sizes.get(plan.member, 0)
    (today,) = recreated_in_final_image(
        parse_dockerfile(plan.dockerfile.original.text, plan.target), CHANGES[:1], lock, plan.member, sizes, project
    )
    (proposed,) = recreated_in_final_image(
        parse_dockerfile(plan.dockerfile.new_text, plan.target), CHANGES[:1], lock, plan.member, sizes, project, groups
    )
    return today, proposed


def _light_dependency(lock_text: str, wanted: str | None) -> str:
    names = set(parse_lock(lock_text, "uv.lock").packages)
    if wanted:
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", wanted):
            raise UvscopeError(f"--prove-dependency {wanted!r} is not a package name (e.g. six)")
        if canonicalize_name(wanted) in names:
            raise UvscopeError(
                f"--prove-dependency {wanted} is already in uv.lock: the proof adds a dependency the project does not have yet"
            )
        return wanted
    for candidate in LIGHT_CANDIDATES:
        if canonicalize_name(candidate) not in names:
            return candidate
    raise UvscopeError("every light candidate is already locked; name one with --prove-dependency")


def _bump(version: str) -> str:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return version + ".1"
    release = list(parsed.release) + [0] * (3 - len(parsed.release))
    release[2] += 1
    return ".".join(str(part) for part in release)


def _apply_change(context: str, pyproject: str, dependency: str, uv: str) -> str:
    """Bump the member's version and add `dependency`, then re-lock; return what was done."""
    path = os.path.join(context, pyproject)
    with open(path, encoding="utf-8-sig") as handle:
        document = tomlkit.parse(handle.read())
    project = document.get("project")
    if not isinstance(project, dict):
        raise UvscopeError(f"{pyproject} has no [project] table: nothing to bump")
    said = []
    if "version" in project:
        old = str(project["version"])
        project["version"] = _bump(old)
        said.append(f"version {old} -> {project['version']}")
    dependencies = project.setdefault("dependencies", tomlkit.array())
    dependencies.append(dependency)
    said.append(f"new dependency {dependency}")
    write_file(path, tomlkit.dumps(document).encode())
    _run([uv, "lock"], cwd=context, timeout=900)
    return ", ".join(said)


def _without_copy_flags(command: str) -> str:
    """A COPY's history line without its flags: BuildKit 0.13 (docker 26) records `--chown=...` and
    `--chmod=...` there (`COPY --chown=app:app /app/.venv /app/.venv # buildkit`), 20.10's does not."""
    if not command.startswith("COPY "):
        return command
    return "COPY " + split_flags(command[len("COPY ") :])[1]


def group_layers(
    image: BuiltImage, groups: tuple[str, ...], environment: str, final_environment: str, multi_stage: bool
) -> dict[str, str | None]:
    """Group -> diff_id of its layer in a revised image.

    Single stage: the `RUN ... -r /uvscope/G.txt` step. Multi-stage: the final
    stage's `COPY <env> <env>` steps (BuildKit records no `--from`), one per
    group in order, the last such run of them.
    """
    found: dict[str, str | None] = {}
    if not multi_stage:
        for group in groups:
            needle = f"-r /uvscope/{group}.txt"
            matches = [diff for command, diff in zip(image.created_by, image.diff_ids) if needle in command and "uv pip install" in command]
            found[group] = matches[-1] if matches else None
        return found
    prefix = f"COPY {environment} {final_environment}"
    commands = [_without_copy_flags(command) for command in image.created_by]
    positions = [i for i, command in enumerate(commands) if command.startswith(prefix + " ") or command == prefix]
    # The group copies are consecutive; the rest's copy may look the same and comes right after them.
    runs: list[list[int]] = []
    for position in positions:
        if runs and runs[-1][-1] == position - 1:
            runs[-1].append(position)
        else:
            runs.append([position])
    chosen = runs[-1][: len(groups)] if runs and len(runs[-1]) >= len(groups) else []
    for group, position in zip(groups, chosen):
        found[group] = image.diff_ids[position]
    return {group: found.get(group) for group in groups}


def prove(
    plan: OptimizePlan,
    project_dir: str,
    *,
    uv: str | None = None,
    docker: str | None = None,
    build_options: tuple[str, ...] = (),
    dependency: str | None = None,
    keep_images: bool = False,
    tag_prefix: str = "uvscope-prove",
    progress=None,
    push: bool = True,
    registry: str | None = None,
    cold: bool = False,
) -> Proof:
    """Build, change, rebuild and measure both Dockerfiles in scratch copies of `project_dir`.

    `push`: push each image to a registry (`registry` HOST:PORT, else a docker-registry started on loopback,
    one per Dockerfile) and measure what the push after the change uploaded. `cold`: rebuild after the change
    on a throwaway engine with an empty BuildKit cache, importing only the previous image's cache from the
    registry, as a CI runner does.
    """
    if plan.dockerfile is None or plan.rewrite is None:
        raise UvscopeError("--prove needs a Dockerfile (none found in the project; give --dockerfile)")
    uv = uv or shutil.which("uv")
    if uv is None:
        raise UvscopeError("uv is not on PATH: --prove re-locks the scratch copies (pip install uv)")
    docker = find_docker(docker)
    build, kind = build_command(docker)
    if cold and kind == "podman":
        raise UvscopeError("--prove-cold starts a throwaway dockerd: not with podman (leave --prove-cold out)")
    push = push or cold or registry is not None
    if cold:
        from .cold_engine import check_dockerd

        check_dockerd(build[1:2] == ["buildx"])
    say = progress or (lambda text: None)
    project_dir = os.path.abspath(project_dir)
    dockerfile_rel = os.path.relpath(os.path.abspath(plan.dockerfile.path), project_dir)
    if dockerfile_rel.startswith(".."):
        raise UvscopeError("--prove builds the project folder as the context: keep the Dockerfile inside it")
    pyproject_rel = os.path.relpath(os.path.abspath(plan.pyproject.path), project_dir)
    lock_rel = os.path.relpath(os.path.abspath(plan.lock_path), project_dir)
    named = None
    if registry is not None:
        from .registry_run import NamedRegistry

        named = NamedRegistry(registry)  # unreachable: one line, before anything is built
    with tempfile.TemporaryDirectory(prefix="uvscope-prove-") as scratch:
        contexts = {}
        for label in ("original", "revised"):
            folder = os.path.join(scratch, label)
            shutil.copytree(project_dir, folder, symlinks=True, ignore=_IGNORED)
            for rel in (pyproject_rel, lock_rel, dockerfile_rel):
                make_private(os.path.join(folder, rel), folder)  # no write may follow a link out of the copy
            contexts[label] = folder
        revised = contexts["revised"]
        write_file(os.path.join(revised, pyproject_rel), plan.pyproject.new_text.encode())
        say("re-locking the revised copy")
        _run([uv, "lock"], cwd=revised, timeout=900)
        with open(os.path.join(revised, lock_rel), encoding="utf-8") as a, open(plan.lock_path, encoding="utf-8") as b:
            if parse_lock(a.read(), "uv.lock").pins() != parse_lock(b.read(), "uv.lock").pins():
                raise UvscopeError("re-locking with the groups changed package versions; the proof would not be fair")
        write_file(os.path.join(revised, dockerfile_rel), plan.dockerfile.new_text.encode())
        with open(os.path.join(contexts["original"], lock_rel), encoding="utf-8") as handle:
            light = _light_dependency(handle.read(), dependency)
        slug = re.sub(r"[^a-z0-9._-]+", "-", plan.member.lower()).strip("-.") or "project"
        run = secrets.token_hex(3)  # two proofs at once (two CI jobs, two projects with one member name) never share a tag
        options = (*build_options, "--target", plan.target) if plan.target else build_options
        runner = ProofRunner(docker, build, kind, options, say, keep_images)
        built: dict[tuple[str, str], BuiltImage] = {}
        pushes: dict[tuple[str, str], Pushed] = {}
        seconds: dict[str, float] = {}
        predicted: tuple[int, int] | None = None
        change = ""
        mode: str | None = None
        try:
            if push:
                runner.open_registries(named, scratch)
            for when in ("before", "after"):
                if when == "after":
                    for label, folder in contexts.items():
                        say(f"bump + new dependency in the {label} copy, re-locking")
                        change = _apply_change(folder, pyproject_rel, light, uv)
                    if cold:
                        mode = runner.open_cold_engine(scratch, plan)
                for label, folder in contexts.items():
                    tag = f"{tag_prefix}/{slug}:{label}-{when}-{run}"
                    repository = f"{tag_prefix}/{slug}-{label}-{run}"
                    say(f"building the {label} Dockerfile ({when} the change{', cold builder' if cold and when == 'after' else ''})")
                    image, took, uploaded = runner.build_and_push(
                        label, when, os.path.join(folder, dockerfile_rel), folder, tag, repository, cold
                    )
                    built[(label, when)] = image
                    if uploaded is not None:
                        pushes[(label, when)] = uploaded
                    if when == "after":
                        seconds[label] = took
                    if (label, when) == ("original", "before"):
                        say("reading the original image for the preview's package sizes")
                        try:
                            predicted = _predicted_bump(plan, tag, project_dir, kind)
                        except UvscopeError as error:
                            say(f"no preview to compare: {error}")
                            predicted = None
        finally:
            runner.clean_up()
    groups = tuple(plan.grouping.names())
    rewrite = plan.rewrite
    multi = rewrite.shape == "multi-stage"

    def layers(before: BuiltImage, after: BuiltImage) -> dict[str, tuple[str | None, str | None]]:
        old = group_layers(before, groups, rewrite.environment, rewrite.final_environment, multi)
        new = group_layers(after, groups, rewrite.environment, rewrite.final_environment, multi)
        return {group: (old[group], new[group]) for group in groups}

    def proof(label: str) -> DockerfileProof:
        before, after = built[(label, "before")], built[(label, "after")]
        return DockerfileProof(
            label,
            before,
            after,
            layers(before, after) if label == "revised" else {},
            pushes.get((label, "before")),
            pushes.get((label, "after")),
            seconds.get(label),
        )

    where = None if not push else (named.host if named is not None else "scratch")
    return Proof(change, proof("original"), proof("revised"), groups, predicted, where, mode)
