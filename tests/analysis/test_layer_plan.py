"""The history planner: replay a grouping over uv.lock's git history and search for the cheapest one.

The history is a real git repository the test makes: a light package bumped
often, a mid-size one sometimes, a heavy one once (the torch + transformers
case). The planner must put the heavy closure at the bottom and the mid one
above it, and nothing the search returns may cost more than any grouping a
brute force over the same candidates finds.
"""

from __future__ import annotations

import itertools
import subprocess

import pytest
from lockrepo import lock_package, lock_repository, lock_text, shape_dockerfile

from uvscope.analysis.packages.lockhistory import lock_history
from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.plan.grouping import REST, Group, Grouping, plan_layers
from uvscope.analysis.plan.layer_plan import plan_document, replay, search, steps_from_lock_history

SIZES = {"heavy-core": 3_000_000_000, "heavy-cuda": 2_600_000_000, "shared-num": 40_000_000, "mid-lib": 400_000_000,
         "tok": 30_000_000, "light": 200_000, "app": 10_000}


def _lock(heavy: str, mid: str, light: str) -> str:
    return lock_text(
        ("heavy-core", "mid-lib", "light"),
        lock_package("heavy-core", heavy, ("heavy-cuda", "shared-num")),
        lock_package("heavy-cuda", heavy),
        lock_package("shared-num", "1.0"),
        lock_package("mid-lib", mid, ("shared-num", "tok")),
        lock_package("tok", mid),
        lock_package("light", light),
    )


# (heavy, mid, light) versions per lock commit: light 10 times, mid 3 times, heavy once
HISTORY = [("2.0", "4.0", "1.0")] + [
    ("2.0" if i < 9 else "2.1", "4.0" if i < 3 else "4.1" if i < 6 else "4.2" if i < 11 else "4.3", f"1.{i + 1}")
    for i in range(12)
]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    repo = lock_repository(tmp_path_factory.mktemp("repo"), [_lock(*versions) for versions in HISTORY])
    commits = lock_history(str(repo))
    return parse_lock(_lock(*HISTORY[-1]), "uv.lock"), steps_from_lock_history(commits)


def _changes(name: str) -> int:
    index = {"heavy": 0, "mid": 1, "light": 2}[name]
    return sum(1 for a, b in zip(HISTORY, HISTORY[1:]) if a[index] != b[index])


def test_two_layer_plan_found(history):
    lock, steps = history
    assert len(steps) == len(HISTORY) - 1
    plan = search(lock, SIZES, "app", steps)
    assert plan.grouping.groups == (Group("heavy", ("heavy-core",)), Group("mid", ("mid-lib",)))
    layers = {layer.name: set(layer.packages) for layer in plan.planned.layers}
    # shared-num is needed by both groups: it belongs to the lowest layer that needs it
    assert layers["heavy"] == {"heavy-core", "heavy-cuda", "shared-num"}
    assert layers["mid"] == {"mid-lib", "tok"}
    assert layers[REST] == {"light"}
    # the heavy layer is rebuilt only by its own bump; mid by its bumps and the heavy one
    assert plan.planned.changes("heavy") == _changes("heavy")
    mid_steps = {i for i, (a, b) in enumerate(zip(HISTORY, HISTORY[1:])) if a[0] != b[0] or a[1] != b[1]}
    assert plan.planned.changes("mid") == len(mid_steps)
    assert plan.planned.changes(REST) == len(steps)
    # today's single layer pushes everything every time
    everything = sum(SIZES[n] for n in ("heavy-core", "heavy-cuda", "shared-num", "mid-lib", "tok", "light"))
    assert all(step.bytes == everything for step in plan.today.steps)
    assert plan.planned.total < plan.today.total / 3
    lines = plan.lines()
    assert len(lines) == 3
    assert lines[0].startswith("heavy: heavy-core (+2 in their closure)") and f"changed 1 time in {len(steps)}" in lines[0]
    assert "rebuilt" in lines[1] and lines[2].startswith("rest: everything else") and "every change" in lines[2]


def test_search_is_no_worse_than_any_grouping(history):
    lock, steps = history
    plan = search(lock, SIZES, "app", steps)
    names = ["heavy-core", "mid-lib", "light"]
    best = None
    for assignment in itertools.product(range(4), repeat=len(names)):  # group 0..2 or 3 = the rest
        parts = [[n for n, a in zip(names, assignment) if a == g] for g in range(3)]
        grouping = Grouping(tuple(Group(f"g{i}", tuple(p)) for i, p in enumerate(parts) if p))
        total = replay(grouping, lock, SIZES, "app", steps).total
        best = total if best is None else min(best, total)
    assert plan.planned.total == best


def test_at_most_k_groups_and_one_group_plan(history):
    lock, steps = history
    one = search(lock, SIZES, "app", steps, max_groups=1)
    assert len(one.grouping.groups) == 1
    # with one cached layer, the heavy closure alone is cheapest (adding mid-lib would rebuild it with every mid bump)
    assert one.grouping.groups[0].packages == ("heavy-core",)
    assert one.planned.total > search(lock, SIZES, "app", steps).planned.total
    with pytest.raises(ValueError):
        search(lock, SIZES, "app", steps, max_groups=0)


def test_replay_cascades_from_lower_layers(history):
    lock, steps = history
    # the often-changing package at the bottom rebuilds everything above it each time
    upside_down = Grouping((Group("a", ("light",)), Group("b", ("heavy-core",))))
    result = replay(upside_down, lock, SIZES, "app", steps)
    layers = plan_layers(upside_down, lock, SIZES, "app")
    assert all(step.rebuilt[:2] == ("a", "b") for step in result.steps)
    assert result.total == sum(layer.bytes for layer in layers) * len(steps)


def test_plan_document(history):
    lock, steps = history
    plan = search(lock, SIZES, "app", steps)
    document = plan_document(plan)
    assert document["total_bytes"] == {"today": plan.today.total, "plan": plan.planned.total}
    assert sum(step["plan_bytes"] for step in document["steps"]) == plan.planned.total
    assert sum(step["today_bytes"] for step in document["steps"]) == plan.today.total
    assert [layer["name"] for layer in document["layers"]] == ["heavy", "mid", REST]
    assert len(document["steps"]) == len(steps) and document["explanation"] == plan.lines()


DOCKERFILE = shape_dockerfile("docs-intermediate")
PYPROJECT = '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["heavy-core>=2", "mid-lib>=4", "light"]\n'


def _project(tmp_path, history):
    return lock_repository(tmp_path / "project", [_lock(*versions) for versions in history], pyproject=PYPROJECT, dockerfile=DOCKERFILE)


def test_optimize_suggest_uses_the_history_plan(tmp_path):
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _project(tmp_path, HISTORY)
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES)
    assert plan.history_plan is not None
    assert [group.name for group in plan.grouping.groups] == ["heavy", "mid"]
    assert plan.grouping == search(parse_lock(_lock(*HISTORY[-1]), "uv.lock"), SIZES, "app", steps_from_lock_history(
        lock_history(str(repo))), project_bytes=SIZES["app"]).grouping
    assert "heavy = [" in plan.pyproject.new_text and "mid = [" in plan.pyproject.new_text
    assert plan.dockerfile is not None and "--only-group heavy" in plan.dockerfile.new_text
    # the Dockerfile's own walk agrees with the replay: a bump of the light package keeps both groups
    bump = plan.preview.costs[0]
    assert bump.proposed < SIZES["mid-lib"] and bump.today > SIZES["heavy-core"]
    # one K: one group
    single = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES, max_groups=1)
    assert [group.packages for group in single.grouping.groups] == [("heavy-core",)]


def test_optimize_suggest_without_history_keeps_the_size_suggestion(tmp_path):
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _project(tmp_path, HISTORY[:1])
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES)
    assert plan.history_plan is None
    # one group of the direct dependencies whose closure is at least 20 MB, as before
    assert len(plan.grouping.groups) == 1 and set(plan.grouping.groups[0].packages) == {"heavy-core", "mid-lib"}


def test_history_estimate_follows_the_replay(history, tmp_path):
    from uvscope.analysis.output.history import rebuild_estimate
    from uvscope.analysis.packages.lockhistory import LockCommit

    lock, _ = history
    grouping = Grouping((Group("heavy", ("heavy-core",)), Group("mid", ("mid-lib",))))
    layers = {layer.name: layer.bytes for layer in plan_layers(grouping, lock, SIZES, "app")}
    bump = LockCommit("c" * 40, "2026-01-01", "bump heavy", {}, {}, {"heavy-cuda": ("2.0", "2.1")})
    # a change in the bottom layer rebuilds the layer above it too (`history --lock-history` says the same)
    assert rebuild_estimate(bump, lock, SIZES, "app", grouping) == (sum(layers.values()), sum(layers.values()))
    light = LockCommit("d" * 40, "2026-01-02", "bump light", {}, {}, {"light": ("1.0", "1.1")})
    assert rebuild_estimate(light, lock, SIZES, "app", grouping) == (sum(layers.values()), layers[REST])


def test_history_figures_come_from_the_dockerfile(tmp_path):
    """Single stage with cache mounts: the Dockerfile walk of each past lock change gives the replay's own bytes
    (the planner and the Dockerfile agree); the heavy bump rebuilds the mid group above it."""
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _project(tmp_path, HISTORY)
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES)
    history = plan.history_plan
    assert history.figures_from == "dockerfile"
    lock = parse_lock(_lock(*HISTORY[-1]), "uv.lock")
    steps = [cost.step for cost in history.planned.steps]
    model = replay(history.grouping, lock, SIZES, "app", steps, SIZES["app"])
    assert [s.bytes for s in history.planned.steps] == [s.bytes for s in model.steps]
    assert [s.bytes for s in history.today.steps] == [s.bytes for s in replay(Grouping(), lock, SIZES, "app", steps, SIZES["app"]).steps]
    heavy_step = next(s for s in history.planned.steps if "heavy-cuda" in s.step.touched)
    assert heavy_step.rebuilt == ("heavy", "mid", REST)


MULTISTAGE = """FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim AS builder
WORKDIR /app
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --locked --no-install-project --no-dev
COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev

FROM python:3.12-slim-bookworm
COPY --from=builder /app /app
"""


def test_multistage_groups_do_not_follow_the_layers_below(tmp_path):
    """uvscope's multi-stage rewrite copies each group from a stage of its own: a heavy bump leaves the mid
    group's layer as it was, in the replay and in the Dockerfile walk alike."""
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _project(tmp_path, HISTORY)
    (repo / "Dockerfile").write_text(MULTISTAGE)
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES)
    history = plan.history_plan
    assert plan.rewrite.shape == "multi-stage" and history.figures_from == "dockerfile"
    assert [group.packages for group in plan.grouping.groups] == [("heavy-core",), ("mid-lib",)]
    lock = parse_lock(_lock(*HISTORY[-1]), "uv.lock")
    layers = {layer.name: layer.bytes for layer in plan_layers(plan.grouping, lock, SIZES, "app")}
    for cost in history.planned.steps:
        if "heavy-cuda" in cost.step.touched:
            assert cost.rebuilt == ("heavy", REST)
            assert cost.bytes < layers["heavy"] + layers["mid"]


def test_max_groups_must_be_positive(tmp_path):
    import sys

    repo = _project(tmp_path, HISTORY[:2])
    result = subprocess.run([sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(repo), "--suggest", "--max-groups", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["uvscope: error: --max-groups wants a positive number, got 0"]


def test_editor_suggestion_is_optimize_suggestion(tmp_path):
    """The grouping editor starts from the grouping `optimize --suggest` proposes, multi-stage Dockerfile or not."""
    from uvscope.analysis.plan.optimize import history_suggestion, plan_optimization

    repo = _project(tmp_path, HISTORY)
    lock = parse_lock(_lock(*HISTORY[-1]), "uv.lock")
    steps = steps_from_lock_history(lock_history(str(repo)))
    for dockerfile in (DOCKERFILE, MULTISTAGE):
        (repo / "Dockerfile").write_text(dockerfile)
        suggested = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES).grouping
        assert history_suggestion(str(repo), lock, SIZES, "app", steps).grouping == suggested


def test_steps_from_images_and_a_plan_from_them(tmp_path, history):
    """A repository's tags as the history: each image's installed versions against the one created before it."""
    from uvscope.analysis.plan.layer_plan import steps_from_images
    from uvscope.analysis.plan.optimize import plan_optimization

    names = ("heavy-core", "mid-lib", "light")
    images = [(f"app:{i}", f"2026-01-{i + 1:02d}T00:00:00Z", dict(zip(names, versions))) for i, versions in enumerate(HISTORY)]
    images.append(("app:same", "2026-02-01T00:00:00Z", dict(images[-1][2])))  # a rebuild of the same versions: no step
    steps = steps_from_images(list(reversed(images)))  # ordered by creation time, not by the order given
    assert [step.label for step in steps] == [f"app:{i}" for i in range(1, len(HISTORY))]
    assert all(step.touched == {n for n, a, b in zip(names, HISTORY[i], HISTORY[i + 1]) if a != b} for i, step in enumerate(steps))
    repo = _project(tmp_path, HISTORY[:1])  # no lock history: the images are the history
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=SIZES, history=steps)
    assert [group.packages for group in plan.grouping.groups] == [("heavy-core",), ("mid-lib",)]
    assert plan.history_plan.unit == "image changes" and "in 12 image changes" in plan.history_plan.lines()[0]


def _wheel_lock(light: str) -> str:
    """`_lock`'s project with wheel sizes (what `--suggest` sizes packages by without an image)."""
    return lock_text(
        ("heavy-core", "mid-lib", "light"),
        lock_package("heavy-core", "2.0", ("shared-num",), wheel=300_000_000),
        lock_package("shared-num", "1.0", wheel=4_000_000),
        lock_package("mid-lib", "4.0", ("shared-num",), wheel=40_000_000),
        lock_package("light", light, wheel=20_000),
    )


@pytest.mark.parametrize(
    "options",
    [{"groups": ["heavy=heavy-core"]}, {"use_suggestion": True}, {"use_suggestion": True, "sizes": SIZES}],
    ids=["group", "suggest-from-wheels", "suggest-from-image-sizes"],
)
def test_one_plan_reads_and_parses_uv_lock_once(tmp_path, monkeypatch, options):
    """`plan_optimization` reads uv.lock once and parses it once (its wheel sizes come from the same parse): it used
    to parse it again for the wheel sizes, in the preview or for the lock history's steps. The file on disk differs
    from every committed lock, so the history's own reads of past locks are not counted."""
    import builtins
    import tomllib

    from uvscope.analysis.plan.optimize import plan_optimization

    repo = lock_repository(tmp_path / "project", [_wheel_lock(f"1.{i}") for i in range(4)], pyproject=PYPROJECT, dockerfile=DOCKERFILE)
    lock_file = repo / "uv.lock"
    lock_file.write_text(lock_file.read_text() + "# not committed\n")
    today = lock_file.read_text()
    parses, opens = [], []
    from collections import OrderedDict

    from uvscope.analysis.packages import uvlock

    monkeypatch.setattr(uvlock, "_PARSED", OrderedDict())  # no earlier parse of this text in this process
    real_loads, real_open = tomllib.loads, builtins.open
    monkeypatch.setattr(tomllib, "loads", lambda text, **kw: (parses.append(text == today), real_loads(text, **kw))[1])
    monkeypatch.setattr(builtins, "open", lambda file, *a, **kw: (opens.append(str(file) == str(lock_file)), real_open(file, *a, **kw))[1])
    plan = plan_optimization(str(repo), **{**options, **({"sizes": dict(SIZES)} if "sizes" in options else {})})
    monkeypatch.undo()
    assert plan.grouping.groups and plan.dockerfile is not None  # a whole plan was made
    assert (sum(parses), sum(opens)) == (1, 1)
