"""`optimize`'s plan on real projects (no engine): members, the Dockerfile's own `--package`,
what the Dockerfile already keeps, and the preview worked out from the Dockerfile."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uvscope.analysis.errors import NothingToDo, UvscopeError
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.optimize import plan_optimization

SHAPES = Path(__file__).parent.parent / "shapes"


def _project(tmp_path: Path, template: str, dockerfile: str) -> Path:
    folder = tmp_path / template
    shutil.copytree(SHAPES / template, folder)
    text = (SHAPES / f"{dockerfile}.Dockerfile").read_text() if (SHAPES / f"{dockerfile}.Dockerfile").exists() else dockerfile
    (folder / "Dockerfile").write_text(text.replace("{UV_BASE}", "uv-base").replace("{BASE}", "python-base"))
    return folder


def test_package_on_the_command_line_must_agree_with_the_dockerfile(tmp_path):
    project = _project(tmp_path, "workspace", "workspace-member")
    with pytest.raises(UvscopeError, match="--package svc-b disagrees with the Dockerfile, which runs `uv sync --package svc-a`"):
        plan_optimization(str(project), groups=["heavy=numpy"], package="svc-b")
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"])  # the Dockerfile says svc-a
    assert plan.member == "svc-a" and plan.pyproject.path.endswith("packages/svc-a/pyproject.toml")
    assert "--no-emit-workspace --package svc-a --only-group heavy" in plan.dockerfile.new_text


def test_each_member_gets_its_own_lean_image_from_one_dockerfile_with_a_package_arg(tmp_path):
    text = (SHAPES / "workspace-member.Dockerfile").read_text().replace("--package svc-a", "--package $PACKAGE")
    text = text.replace("FROM {UV_BASE} AS builder\n", "FROM {UV_BASE} AS builder\nARG PACKAGE\n")
    project = _project(tmp_path, "workspace", text)
    for member, group in (("svc-a", "heavy=numpy,pandas"), ("svc-b", "heavy=numpy")):
        plan = plan_optimization(str(project), groups=[group], package=member)
        assert plan.member == member and plan.pyproject.path.endswith(f"packages/{member}/pyproject.toml")
        assert f"--package {member} --only-group heavy" in plan.dockerfile.new_text
        # the preview follows the member's own closure: svc-b has no pandas to move
        heavy = set(plan.preview.layers[0].packages)
        assert heavy == {"numpy"} if member == "svc-b" else {"numpy", "pandas"} <= heavy


def test_the_preview_is_worked_out_from_the_dockerfile(tmp_path):
    single = plan_optimization(str(_project(tmp_path / "a", "project", "docs-intermediate")), groups=["heavy=numpy,pandas"])
    multi = plan_optimization(str(_project(tmp_path / "b", "project", "example-multistage")), groups=["heavy=numpy,pandas"])
    assert single.sizes_from == multi.sizes_from == "uv.lock's wheel sizes (compressed)"
    for plan in (single, multi):
        bump = plan.preview.costs[0]
        assert bump.proposed < bump.today / 50
    # a source change: the project's own layer in the single stage; the whole environment copy in the multi-stage build
    assert single.preview.costs[2].today < 100_000 < multi.preview.costs[2].today
    assert multi.preview.costs[2].proposed < multi.preview.costs[2].today / 50


def test_a_dockerfile_that_already_isolates_its_heavy_packages_is_recognised(tmp_path):
    hand_written = (
        "FROM uv-base AS heavy\n"
        "WORKDIR /app\n"
        "COPY requirements-heavy.txt .\n"
        "RUN uv venv /app/.venv && uv pip install --python /app/.venv numpy pandas\n"
        "FROM heavy AS builder\n"
        "COPY pyproject.toml uv.lock ./\n"
        "RUN uv sync --frozen --no-install-project\n"
        "COPY . .\n"
        "RUN uv sync --frozen\n"
    )
    project = _project(tmp_path, "project", hand_written)
    sizes = {"numpy": 70_000_000, "pandas": 80_000_000, "attrs": 500_000, "python-dateutil": 1_000_000, "tzdata": 2_000_000, "six": 50_000}
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"], sizes=sizes)
    assert {"numpy", "pandas"} <= set(plan.already_kept)
    assert plan.preview.costs[0].today < 5_000_000  # not the 150 MB a generic model would claim
    with pytest.raises(NothingToDo, match="already keeps numpy, pandas"):
        plan_optimization(str(project), use_suggestion=True, sizes=sizes)


def test_nothing_to_do_is_said_on_stdout_with_exit_0(tmp_path):
    project = _project(tmp_path, "project", "docs-intermediate")
    plan = plan_optimization(str(project), grouping=Grouping((Group("heavy", ("numpy", "pandas")),)))
    (project / "Dockerfile").write_text(plan.dockerfile.new_text)
    (project / "pyproject.toml").write_text(plan.pyproject.new_text)
    lock = subprocess.run([str(Path(sys.executable).parent / "uv"), "lock", "-q"], cwd=project, capture_output=True, text=True)
    assert lock.returncode == 0, lock.stderr
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(project), "--group", "heavy=numpy,pandas"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "a re-run replaces" not in result.stderr
    assert "the Dockerfile already keeps numpy, pandas" in result.stdout


def test_workspace_details_indexes_in_the_root_members_and_diff_labels(tmp_path):
    project = _project(tmp_path, "workspace", "workspace-member")
    root = project / "pyproject.toml"
    root.write_text(root.read_text() + '\n[[tool.uv.index]]\nname = "corp"\nurl = "https://pypi.example/simple"\ndefault = true\n')
    plan = plan_optimization(str(project), groups=["heavy=numpy"])
    assert "--emit-index-url" in plan.dockerfile.new_text  # the root's index reaches the exported pins
    # the grouping editor's preview works from the same rewrite `optimize` writes
    from uvscope.analysis.packages.uvlock import parse_lock
    from uvscope.analysis.plan.project_build import read_project_build, rewrite_for

    lock = parse_lock((project / "uv.lock").read_text(), "uv.lock")
    build = read_project_build(str(project), lock, plan.member)
    assert build is not None and rewrite_for(build, plan.grouping, lock, plan.member).text == plan.dockerfile.new_text
    assert "a/packages/svc-a/pyproject.toml" in plan.pyproject.diff()  # which pyproject.toml changes
    with pytest.raises(UvscopeError, match="lib-b: a workspace member is installed from its source"):
        plan_optimization(str(project), groups=["heavy=numpy,lib-b"])


def test_what_a_member_gets_through_a_sibling_member_can_be_grouped_and_is_suggested_in_its_place(tmp_path):
    """svc-a depends on the member lib-b, which needs attrs: lib-b is built from its source, so attrs is what a group
    pins; the suggestion proposes attrs, never lib-b (which the plan would then refuse)."""
    project = _project(tmp_path, "workspace", "workspace-member")
    plan = plan_optimization(str(project), groups=["heavy=numpy,attrs"])
    assert '"attrs"' in plan.pyproject.new_text.split("[dependency-groups]")[1]  # from uv.lock's edge lib-b -> attrs
    assert "attrs" in plan.preview.layers[0].packages
    suggested = plan_optimization(str(project), use_suggestion=True, sizes={"attrs": 500_000_000, "numpy": 1_000, "pandas": 1_000})
    assert [group.packages for group in suggested.grouping.groups] == [("attrs",)]
    with pytest.raises(UvscopeError, match="zzz not in .*the workspace members it depends on"):
        plan_optimization(str(project), groups=["heavy=numpy,zzz"])


def test_a_group_that_exists_already_installs_all_it_will_hold(tmp_path):
    project = _project(tmp_path, "project", "docs-intermediate")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[dependency-groups]\nheavy = ["pandas>=2.2"]\n')
    subprocess.run([str(Path(sys.executable).parent / "uv"), "lock", "-q"], cwd=project, check=True, capture_output=True)
    plan = plan_optimization(str(project), groups=["heavy=numpy"])
    assert plan.grouping.groups[0].packages == ("numpy", "pandas")
    assert {"numpy", "pandas"} <= set(plan.preview.layers[0].packages)


def test_the_proofs_new_dependency_must_be_new():
    from uvscope.analysis.plan.prove import _light_dependency

    lock = (SHAPES / "project" / "uv.lock").read_text()
    with pytest.raises(UvscopeError, match="numpy is already in uv.lock"):
        _light_dependency(lock, "numpy")
    assert _light_dependency(lock, None) not in {"numpy", "pandas", "attrs", "six", "tzdata", "python-dateutil"}
    with pytest.raises(UvscopeError, match="'not a name!' is not a package name"):
        _light_dependency(lock, "not a name!")  # said before anything is built, not by `uv lock` after two builds
    assert _light_dependency(lock, "Tiny_Pkg.x") == "Tiny_Pkg.x"


def test_the_preview_counts_extras_and_groups_that_uv_sync_installs(tmp_path):
    project = _project(tmp_path, "project", "docs-intermediate")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('    "pandas>=2.2",  # heavy\n', "")
    pyproject.write_text(text.replace("[build-system]", '[project.optional-dependencies]\nanalytics = ["pandas>=2.2"]\n\n[build-system]'))
    subprocess.run([str(Path(sys.executable).parent / "uv"), "lock", "-q"], cwd=project, check=True, capture_output=True)
    sizes = {"numpy": 70_000_000, "pandas": 80_000_000, "attrs": 500_000, "python-dateutil": 1_000_000, "tzdata": 2_000_000, "six": 50_000}
    without = plan_optimization(str(project), groups=["heavy=numpy"], sizes=sizes).preview.costs[0]
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("--locked --no-dev", "--locked --no-dev --extra analytics"))
    with_extra = plan_optimization(str(project), groups=["heavy=numpy"], sizes=sizes).preview.costs[0]
    # pandas comes with the extra and stays in the rest: a bump re-creates it, today and with the group
    assert with_extra.today - without.today >= 80_000_000
    assert with_extra.proposed - without.proposed >= 80_000_000


def test_a_lock_that_does_not_match_the_project_is_said_in_one_line(tmp_path):
    project = _project(tmp_path, "project", "docs-intermediate")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('    "attrs>=23",    # light\n', '    "attrs>=23",    # light\n    "pyyaml",\n'))
    with pytest.raises(UvscopeError, match="pyyaml in pyproject.toml but not in uv.lock: the lock is out of date"):
        plan_optimization(str(project), groups=["heavy=pyyaml"])
    pyproject.write_text('[project]\nname = "other"\nversion = "1"\ndependencies = ["numpy"]\n')
    with pytest.raises(UvscopeError, match=r"uv.lock does not lock this project \(pyproject.toml says other; uv.lock has shapes-app\)"):
        plan_optimization(str(project), groups=["heavy=numpy"])


def test_heavy_packages_from_an_extra_the_dockerfile_installs_can_be_grouped(tmp_path):
    project = _project(tmp_path, "project", "docs-intermediate")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('    "pandas>=2.2",  # heavy\n', "")
    pyproject.write_text(text.replace("[build-system]", '[project.optional-dependencies]\nanalytics = ["pandas>=2.2"]\n\n[build-system]'))
    subprocess.run([str(Path(sys.executable).parent / "uv"), "lock", "-q"], cwd=project, check=True, capture_output=True)
    with pytest.raises(
        UvscopeError,
        match=r"pandas not in \[project.dependencies\] or the dependency groups its uv sync installs \(none\); only what the image installs",
    ):
        plan_optimization(str(project), groups=["heavy=numpy,pandas"])
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("--locked --no-dev", "--locked --no-dev --extra analytics"))
    sizes = {"numpy": 70_000_000, "pandas": 80_000_000, "attrs": 500_000, "python-dateutil": 1_000_000, "tzdata": 2_000_000, "six": 50_000}
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"], sizes=sizes)
    assert 'heavy = [\n    "numpy>=2.0",\n    "pandas>=2.2",\n]' in plan.pyproject.new_text
    assert {"numpy", "pandas"} <= set(plan.preview.layers[0].packages)
    assert plan.preview.costs[0].proposed < 5_000_000  # pandas is no longer re-created by a bump


def test_heavy_packages_from_a_dependency_group_the_sync_installs_can_be_grouped(tmp_path):
    """full-stack-fastapi-template's `uv sync --package app` installs the `dev` group (mypy, ruff, ty) too: its
    packages are in the image, so a group may hold them; a sync that leaves the group out refuses, naming what it installs."""
    project = _project(tmp_path, "project", "docs-intermediate")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('    "pandas>=2.2",  # heavy\n', "")
    pyproject.write_text(
        text.replace(
            "[build-system]", '[dependency-groups]\ntools = ["pandas>=2.2"]\ndev = [{include-group = "tools"}, "six"]\n\n[build-system]'
        )
    )
    subprocess.run([str(Path(sys.executable).parent / "uv"), "lock", "-q"], cwd=project, check=True, capture_output=True)
    with pytest.raises(UvscopeError, match=r"pandas not in .* the dependency groups its uv sync installs \(none\)"):
        plan_optimization(str(project), groups=["heavy=numpy,pandas"])  # the file says --no-dev
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(" --no-dev", ""))
    sizes = {"numpy": 70_000_000, "pandas": 80_000_000, "attrs": 500_000, "python-dateutil": 1_000_000, "tzdata": 2_000_000, "six": 50_000}
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"], sizes=sizes)
    assert 'heavy = [\n    "numpy>=2.0",\n    "pandas>=2.2",\n]' in plan.pyproject.new_text
    assert 'dev = [{include-group = "tools"}, "six"]' in plan.pyproject.new_text  # the user's groups stay as written
    bump = plan.preview.costs[0]
    assert bump.today - bump.proposed >= 150_000_000  # numpy and pandas (from dev) no longer re-created by a bump
    suggested = plan_optimization(str(project), use_suggestion=True, sizes=sizes).grouping
    assert [set(group.packages) for group in suggested.groups] == [{"numpy", "pandas"}]  # dev's pandas is heavy too
    dockerfile.write_text(dockerfile.read_text().replace("WORKDIR /app\n", "ENV UV_NO_DEV=1\nWORKDIR /app\n", 1))
    with pytest.raises(UvscopeError, match=r"installs \(none\)"):
        plan_optimization(str(project), groups=["heavy=numpy,pandas"])


def test_group_layers_read_copies_whose_history_names_their_flags():
    """docker 26's BuildKit writes a final stage's `COPY --chown` with its flag into the history (20.10's does not):
    standalone.Dockerfile's `COPY --from=builder --chown=nonroot:nonroot /app /app`, split per group, is still found."""
    from uvscope.analysis.plan.prove import BuiltImage, group_layers

    for chown in ("", "--chown=nonroot:nonroot "):
        image = BuiltImage(
            "t",
            ("sha256:base", "sha256:python", "sha256:heavy", "sha256:rest", "sha256:workdir"),
            (1, 1, 1, 1, 0),
            (
                "ADD rootfs",
                "COPY /python /python # buildkit",
                f"COPY {chown}/app/.venv /app/.venv # buildkit",
                f"COPY {chown}/app /app # buildkit",
                "WORKDIR /app",
            ),
        )
        assert group_layers(image, ("heavy",), "/app/.venv", "/app/.venv", True) == {"heavy": "sha256:heavy"}, chown


def test_a_containerfile_is_the_build_file_when_the_project_has_no_dockerfile(tmp_path):
    """podman and buildah read `Containerfile`: without a Dockerfile (and without --dockerfile) optimize
    rewrites it, the preview is worked out from it, and a Dockerfile next to it still wins, as `docker build`'s."""
    project = _project(tmp_path, "project", "docs-intermediate")
    (project / "Dockerfile").rename(project / "Containerfile")
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"])
    assert plan.dockerfile is not None and Path(plan.dockerfile.path).name == "Containerfile"
    assert "--only-group heavy" in plan.dockerfile.new_text and plan.rewrite is not None
    bump = plan.preview.costs[0]
    assert bump.proposed < bump.today / 50  # the Containerfile's own shape, not the generic model
    (project / "Dockerfile").write_text((project / "Containerfile").read_text())
    assert Path(plan_optimization(str(project), groups=["heavy=numpy,pandas"]).dockerfile.path).name == "Dockerfile"


def test_the_target_stage_is_the_image_as_docker_build_target_builds_it(tmp_path):
    """A Dockerfile whose last stage ships a binary built from the venv (OpenHands' agent server): the image users run
    from it with `--target runtime` is the stage that copies the venv; `--target` makes that stage the final image."""
    text = (SHAPES / "example-multistage.Dockerfile").read_text().replace("FROM {BASE}\n", "FROM {BASE} AS runtime\n")
    text += "\nFROM {BASE} AS binary\nCOPY --from=builder /app/src /src\n"
    project = _project(tmp_path, "project", "docs-intermediate")
    (project / "Dockerfile").write_text(text.replace("{UV_BASE}", "uv-base").replace("{BASE}", "python-base"))
    with pytest.raises(UvscopeError, match="the final image neither derives from stage 'builder' nor copies its environment"):
        plan_optimization(str(project), groups=["heavy=numpy,pandas"])
    plan = plan_optimization(str(project), groups=["heavy=numpy,pandas"], target="runtime")
    assert plan.target == "runtime" and plan.rewrite.shape == "multi-stage"
    runtime = plan.dockerfile.new_text.split("AS runtime\n", 1)[1].split("AS binary\n", 1)[0]
    assert "COPY --from=uvscope-group-heavy" in runtime  # the target's copy is the one split
    assert plan.dockerfile.new_text.endswith("FROM python-base AS binary\nCOPY --from=builder /app/src /src\n")  # later stages untouched
    bump = plan.preview.costs[0]
    assert bump.proposed < bump.today / 50  # the preview walks the target's layers
    with pytest.raises(UvscopeError, match=r"--target nope: the Dockerfile has no stage of that name \(its named stages: builder, runtime, binary\)"):
        plan_optimization(str(project), groups=["heavy=numpy,pandas"], target="nope")


def test_with_a_target_the_member_and_groups_come_from_the_stages_it_builds(tmp_path):
    """One Dockerfile, one image per member by `--target`: each target's builder syncs its own member. The member
    (and so the groups' closure) is the one the target's stages sync, not the Dockerfile's last `--package`."""
    one = (SHAPES / "workspace-member.Dockerfile").read_text()
    builder, runtime = one.split("\nFROM {BASE}\n", 1)
    stages = []
    for member in ("svc-a", "svc-b"):
        stages.append(builder.replace("AS builder", f"AS build-{member}").replace("--package svc-a", f"--package {member}"))
        stages.append(f"FROM {{BASE}} AS {member}\n" + runtime.replace("--from=builder", f"--from=build-{member}"))
    project = _project(tmp_path, "workspace", "\n".join(stages))
    for member, heavy in (("svc-a", {"numpy", "pandas"}), ("svc-b", {"numpy"})):
        plan = plan_optimization(str(project), groups=["heavy=numpy,pandas" if member == "svc-a" else "heavy=numpy"], target=member)
        assert plan.member == member and plan.pyproject.path.endswith(f"packages/{member}/pyproject.toml")
        other = "svc-b" if member == "svc-a" else "svc-a"
        new_text = plan.dockerfile.new_text
        assert f"--package {member} --only-group heavy" in new_text and f"--package {other} --only-group" not in new_text
        assert heavy <= set(plan.preview.layers[0].packages)
    with pytest.raises(UvscopeError, match="--package svc-b disagrees with the Dockerfile, which runs `uv sync --package svc-a`"):
        plan_optimization(str(project), groups=["heavy=numpy"], package="svc-b", target="svc-a")


def test_the_editors_memos_drop_the_least_recently_used(tmp_path, monkeypatch):
    """The grouping editor moves cards back and forth: a rewrite it went back to stays memoised while newer
    ones push the unused out; uv.lock's text read again (the session's, then the plan's) is one parse."""
    from uvscope.analysis.packages import uvlock
    from uvscope.analysis.plan import project_build
    from uvscope.analysis.plan.project_build import read_project_build, rewrite_for

    project = _project(tmp_path, "project", "docs-intermediate")
    text = (project / "uv.lock").read_text()
    lock = uvlock.parse_lock(text, str(project / "uv.lock"))
    assert uvlock.parse_lock(text, str(project / "uv.lock")) is lock
    relative = uvlock.parse_lock(text, "uv.lock")  # the same file by another path: its tables, its own source
    assert relative.source == "uv.lock" and relative.packages is lock.packages
    assert uvlock.parse_lock(text.replace("numpy", "numpy", 1) + "\n", str(project / "uv.lock")) is not lock  # a new text
    monkeypatch.setattr(project_build, "MAX_REWRITES", 3)
    build = read_project_build(str(project), lock, "shapes-app")
    assert build is not None
    groupings = [Grouping((Group("heavy", (name,)),)) for name in ("numpy", "pandas", "attrs", "six")]
    first = rewrite_for(build, groupings[0], lock, "shapes-app")
    rewrite_for(build, groupings[1], lock, "shapes-app")
    rewrite_for(build, groupings[2], lock, "shapes-app")
    assert rewrite_for(build, groupings[0], lock, "shapes-app") is first  # gone back to: used again
    rewrite_for(build, groupings[3], lock, "shapes-app")  # one too many: pandas's, the least recently used, goes
    assert [key[0] for key in build.rewrites] == [groupings[2], groupings[0], groupings[3]]


ROOT_AND_MEMBER_LOCK = """version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "worker"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "worker" }]

[[package]]
name = "worker"
version = "0.1.0"
source = { editable = "packages/worker" }
"""


@pytest.mark.parametrize(
    "dockerfile, member",
    [
        ("RUN uv sync --locked --all-packages --no-install-workspace\n", "app"),  # prime-rl's
        ("RUN uv sync --locked\n", "app"),
        ("RUN uv sync --locked --package worker\n", "worker"),
        ("RUN pip install .\n", None),
    ],
)
def test_a_sync_without_package_builds_the_workspace_root(tmp_path, dockerfile, member):
    """`uv sync` without `--package` in a workspace whose root is a project syncs the root (with `--all-packages`
    every member, the root among them): that is the member, not a `--package` to choose (prime-rl's Dockerfile)."""
    from uvscope.analysis.packages.uvlock import parse_lock
    from uvscope.analysis.plan.build_shape import ProjectDockerfile
    from uvscope.analysis.plan.optimize_inputs import choose_member
    from uvscope.analysis.plan.project_build import member_paths

    (tmp_path / "packages" / "worker").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1.0"\n\n[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    (tmp_path / "packages" / "worker" / "pyproject.toml").write_text('[project]\nname = "worker"\nversion = "0.1.0"\n')
    lock = parse_lock(ROOT_AND_MEMBER_LOCK, str(tmp_path / "uv.lock"))
    paths = member_paths(str(tmp_path), lock)
    docker = ProjectDockerfile(f"FROM base\nCOPY . /app\n{dockerfile}")
    if member is None:
        with pytest.raises(UvscopeError, match="several workspace members"):
            choose_member(lock, paths, None, docker)
    else:
        assert choose_member(lock, paths, None, docker) == member
