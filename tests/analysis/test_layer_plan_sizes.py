"""The history planner sizes each past change as it was, not with today's sizes.

A tag's own measured bytes per distribution, or a commit's uv.lock wheel sizes
scaled to installed sizes (`layer_plan.sizes_then`): a package that grew since
(here `big`, four times larger today than when `small` was bumped) must not
make old changes look as expensive as a change today would be.
"""

from __future__ import annotations

from lockrepo import lock_package, lock_repository, lock_text, shape_dockerfile

from uvscope.analysis.packages.lockhistory import lock_history
from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.plan.grouping import REST, Group, Grouping
from uvscope.analysis.plan.layer_plan import Step, replay, search, sizes_then, steps_from_images, steps_from_lock_history

TODAY = {"big": 1_000_000, "small": 20_000, "app": 2_000}
HEAVY = Grouping((Group("heavy", ("big",)),))


def _lock(big: str, small: str, big_wheel: int = 0, small_wheel: int = 0) -> str:
    return lock_text(("big", "small"), lock_package("big", big, wheel=big_wheel), lock_package("small", small, wheel=small_wheel))


LOCK = parse_lock(_lock("2.0", "1.2"), "uv.lock")
# when small was bumped, big was a quarter of its size today; then big grew to today's size
STEPS = [
    Step("v2", "2026-01-02", frozenset({"small"}), {"big": 250_000, "small": 10_000, "app": 1_000}),
    Step("v3", "2026-01-03", frozenset({"big"}), {"big": 1_000_000, "small": 10_000, "app": 1_500}),
]


def test_replay_sizes_each_step_as_it_was():
    planned = replay(HEAVY, LOCK, TODAY, "app", STEPS, TODAY["app"])
    today = replay(Grouping(), LOCK, TODAY, "app", STEPS, TODAY["app"])
    # with the heavy group, the small bump pushes the rest and the project as they were then
    assert [(s.rebuilt, s.bytes) for s in planned.steps] == [((REST,), 10_000 + 1_000), (("heavy", REST), 1_000_000 + 10_000 + 1_500)]
    assert [s.bytes for s in today.steps] == [250_000 + 10_000 + 1_000, 1_000_000 + 10_000 + 1_500]
    assert (today.total, planned.total) == (1_272_500, 1_022_500)
    # today's sizes stand in for every step when the history does not know them: a different answer
    unsized = [Step(s.label, s.date, s.touched) for s in STEPS]
    assert replay(Grouping(), LOCK, TODAY, "app", unsized, TODAY["app"]).total == 2 * (1_000_000 + 20_000 + 2_000) != today.total
    assert replay(HEAVY, LOCK, TODAY, "app", unsized, TODAY["app"]).total == 22_000 + 1_022_000 != planned.total
    # the layers shown are today's
    assert [layer.bytes for layer in planned.layers] == [1_000_000, 20_000]


def test_search_replays_with_the_steps_sizes():
    plan = search(LOCK, TODAY, "app", STEPS, project_bytes=TODAY["app"])
    assert plan.grouping == HEAVY
    assert (plan.today.total, plan.planned.total) == (1_272_500, 1_022_500)


def test_sizes_then_keeps_todays_size_for_todays_version_and_scales_the_others():
    now = {"big": "2.0", "small": "1.2", "gone-win": "1.0", "app": "0.1.0"}
    sizes = {"big": 1_000_000, "small": 20_000, "app": 2_000}  # gone-win: locked, not installed here (another platform)
    wheels_now = {"big": 400_000}  # big installs at 2.5 times its wheel; small has no wheel today (an sdist)
    then = {"big": "1.0", "small": "1.1", "gone-win": "1.0", "removed": "3.0", "app": "0.1.0"}
    wheels_then = {"big": 100_000, "small": 4_000, "removed": 8_000}
    assert sizes_then(then, wheels_then, now, sizes, wheels_now, 3.0) == {
        "big": 250_000,  # that lock's wheel, scaled as big scales today
        "small": 12_000,  # no wheel today to scale by: the default ratio
        "removed": 24_000,  # not locked today: the default ratio too
        "app": 2_000,  # today's version: today's size
    }
    # a package with no wheel then keeps today's size
    assert sizes_then({"small": "1.1"}, {}, now, sizes, wheels_now, 3.0) == {"small": 20_000}


def test_steps_from_images_carry_each_images_own_sizes():
    images = [
        ("app:v1", "2026-01-01", {"big": "1.0", "small": "1.0"}),
        ("app:v2", "2026-01-02", {"big": "1.0", "small": "1.1"}),
    ]
    measured = {"app:v1": {"big": 5, "small": 1}, "app:v2": {"big": 5, "small": 2}}
    (step,) = steps_from_images(images, measured)
    assert step.touched == {"small"} and step.sizes == {"big": 5, "small": 2}
    assert steps_from_images(images)[0].sizes is None


def _repo(tmp_path, locks: list[str], dockerfile: str | None = None):
    pyproject = '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["big", "small"]\n'
    return lock_repository(tmp_path / "project", locks, pyproject=pyproject, dockerfile=dockerfile)


# big 1.0 (a 100 kB wheel), small bumped twice, then big 2.0 (a 400 kB wheel)
LOCKS = [
    _lock("1.0", "1.0", 100_000, 4_000),
    _lock("1.0", "1.1", 100_000, 4_000),
    _lock("1.0", "1.2", 100_000, 5_000),
    _lock("2.0", "1.2", 400_000, 5_000),
]


def test_lock_history_steps_use_each_commits_wheel_sizes(tmp_path):
    repo = _repo(tmp_path, LOCKS)
    commits = lock_history(str(repo))
    assert commits[1].wheel_bytes == {"big": 100_000, "small": 4_000} and commits[1].versions["small"] == "1.1"
    versions = {name: ",".join(v) for name, v in parse_lock(LOCKS[-1], "uv.lock").pins().items()}
    steps = steps_from_lock_history(commits, versions=versions, sizes=TODAY, wheels={"big": 400_000, "small": 5_000}, ratio=2.5)
    # big installs at 2.5 times its wheel today (1 MB from 400 kB): its 100 kB wheel then was 250 kB installed;
    # small's 4 kB wheel then scales as small does today (20 kB from 5 kB)
    assert [dict(step.sizes) for step in steps] == [
        {"big": 250_000, "small": 16_000, "app": 2_000},
        {"big": 250_000, "small": 20_000, "app": 2_000},
        {"big": 1_000_000, "small": 20_000, "app": 2_000},
    ]
    assert all(step.sizes is None for step in steps_from_lock_history(commits))


def test_optimize_replays_uv_lock_history_with_each_commits_sizes(tmp_path):
    """`optimize --suggest` with an image's sizes: the old commits' bytes are their wheels scaled, not today's sizes."""
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _repo(tmp_path, LOCKS)
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=dict(TODAY))
    history = plan.history_plan
    assert history is not None and history.figures_from == "model"
    assert plan.grouping == HEAVY
    assert [s.bytes for s in history.today.steps] == [250_000 + 16_000 + 2_000, 250_000 + 20_000 + 2_000, 1_000_000 + 20_000 + 2_000]
    assert [s.bytes for s in history.planned.steps] == [16_000 + 2_000, 20_000 + 2_000, 1_000_000 + 20_000 + 2_000]


def test_optimize_without_an_image_replays_each_commits_wheels(tmp_path):
    """No image: sizes are uv.lock's wheel sizes, today's and each commit's alike (no scaling)."""
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _repo(tmp_path, LOCKS)
    plan = plan_optimization(str(repo), use_suggestion=True, max_groups=1)
    steps = plan.history_plan.today.steps if plan.history_plan else ()
    project = steps[-1].bytes - 400_000 - 5_000  # the project's own files on disk
    assert [s.bytes - project for s in steps] == [100_000 + 4_000, 100_000 + 5_000, 400_000 + 5_000]


def test_dockerfile_walk_sizes_each_step_as_it_was(tmp_path):
    """With a Dockerfile the figures come from its walk: they too use each step's own sizes, and agree with the replay."""
    from uvscope.analysis.plan.optimize import plan_optimization

    repo = _repo(tmp_path, LOCKS, shape_dockerfile("docs-intermediate"))
    plan = plan_optimization(str(repo), use_suggestion=True, sizes=dict(TODAY))
    history = plan.history_plan
    assert history is not None and history.figures_from == "dockerfile"
    steps = [cost.step for cost in history.planned.steps]
    model = replay(history.grouping, LOCK, TODAY, "app", steps, TODAY["app"])
    assert [s.bytes for s in history.planned.steps] == [s.bytes for s in model.steps] == [18_000, 22_000, 1_022_000]


def test_history_estimate_sizes_the_commit_as_it_was():
    """`history --lock-history --image` estimates each commit with the planner's replay, sized as the commit locked it."""
    from uvscope.analysis.output.history import rebuild_estimate
    from uvscope.analysis.packages.lockhistory import LockCommit

    bump = LockCommit("c" * 40, "2026-01-02", "bump small", {}, {}, {"small": ("1.0", "1.1")})
    # the packages only (the project is not part of this estimate)
    assert rebuild_estimate(bump, LOCK, TODAY, "app", HEAVY) == (1_020_000, 20_000)
    assert rebuild_estimate(bump, LOCK, TODAY, "app", HEAVY, STEPS[0].sizes) == (260_000, 10_000)


def test_images_are_ordered_by_instant_not_by_text():
    from uvscope.analysis.image.model import created_order
    from uvscope.analysis.plan.layer_plan import steps_from_images

    # as text, ":00Z" sorts after ":00.5Z" and "+02:00" hides that v1 is two hours earlier than it reads
    images = [
        ("v3", "2026-01-01T12:00:00.5Z", {"a": "1", "b": "3"}),
        ("v2", "2026-01-01T12:00:00Z", {"a": "1", "b": "2"}),
        ("v1", "2026-01-01T13:00:00.123456789+02:00", {"a": "1", "b": "1"}),
    ]
    assert [step.label for step in steps_from_images(images)] == ["v2", "v3"]
    assert created_order("not a time") > created_order("2026-01-01T00:00:00Z")
