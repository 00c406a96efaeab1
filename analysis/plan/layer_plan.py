"""Plan the layers from history: the grouping that would have pushed the fewest bytes.

A history is a list of steps (each commit that changed uv.lock after the
first), each with the set of packages whose pins it changed. `replay` walks a
grouping over it the way BuildKit rebuilds the Dockerfile uvscope writes:

- the groups' layers are a chain, bottom first; a group's layer is keyed on
  its exported pins, so it is rebuilt when a package it installs (its closure,
  less what a lower group installs) changed, or when a layer below it was
  rebuilt (a `RUN` after a re-run step re-runs). Where the final image copies
  each group from a stage of its own (`cascade=False`, uvscope's multi-stage
  rewrite), a `COPY` of unchanged files makes the same layer again, so only
  the group whose pins changed is rebuilt;
- the rest (`uv sync`, keyed on uv.lock) and the project are rebuilt by every
  lock change.

Every rebuilt layer is pushed again, so its bytes count. The layers (which
package goes where) come from the current lock: the replay answers "with
these layers, how much would each past change have pushed". A step's bytes
are the sizes of that step when the history knows them (`Step.sizes`): a
tag's own measured bytes per distribution, or a commit's uv.lock wheel sizes
scaled to installed sizes (`sizes_then`); otherwise today's sizes stand in.
A package the step did not install counts nothing; one installed then but
no longer locked today belongs to no layer and is not counted.

`search` proposes the grouping with the fewest bytes over the history, with at
most `max_groups` groups (plus the rest), a package shared by two groups
belonging to the lowest one (`grouping.plan_layers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from ..image.model import created_order
from ..packages.lockhistory import LockCommit
from ..packages.uvlock import Dependency, Lock
from ..units import size
from .grouping import REST, Group, Grouping, LayerPlan, items_for, plan_layers

MAX_GROUPS = 3
"""Default most groups a plan may have (the rest comes on top of them)."""
MAX_CANDIDATES = 10
"""Only the largest direct dependencies are placed by the search; the others stay in the rest."""
GROUP_NAMES = ("heavy", "mid", "upper", "top")


@dataclass(frozen=True)
class Step:
    """One change of the history: a lock commit (or a tag) and the packages whose pins it changed."""

    label: str
    date: str
    touched: frozenset[str]
    sizes: Mapping[str, int] | None = field(default=None, compare=False)
    """Installed bytes per distribution after this step (the tag's own, or the commit's lock sized by
    `sizes_then`); None: today's sizes stand in. A step is identified by its label, date and packages."""


@dataclass(frozen=True)
class StepCost:
    """What one step rebuilt and pushed under a grouping."""

    step: Step
    rebuilt: tuple[str, ...]
    """Names of the layers rebuilt (groups, then `rest`)."""
    bytes: int


@dataclass(frozen=True)
class Replay:
    """A grouping replayed over a history."""

    grouping: Grouping
    layers: tuple[LayerPlan, ...]
    steps: tuple[StepCost, ...]

    @property
    def total(self) -> int:
        return sum(step.bytes for step in self.steps)

    def changes(self, layer: str) -> int:
        """How many steps rebuilt `layer`."""
        return sum(1 for step in self.steps if layer in step.rebuilt)


@dataclass(frozen=True)
class HistoryPlan:
    """The grouping the search proposes, with today's single layer replayed over the same history."""

    today: Replay
    planned: Replay
    figures_from: str = "model"
    """`model`: the bytes per step are this module's replay; `dockerfile`: they are what the walk of
    the project's Dockerfile (today) and of uvscope's revision of it (the plan) re-creates in the final
    image for each step (`rebuild_cost.recreated_in_final_image`)."""
    unit: str = "lock changes"
    """What a step is, for the explanation (`image changes` when planned from a repository's tags)."""

    @property
    def grouping(self) -> Grouping:
        return self.planned.grouping

    def lines(self) -> list[str]:
        """One line per layer, bottom first, saying what it holds and how often it changed."""
        steps = len(self.planned.steps)
        lines = []
        for layer, group in zip(self.planned.layers, self.grouping.groups + (Group(REST),)):
            own = sum(1 for s in self.planned.steps if s.step.touched & set(layer.packages))
            rebuilt = self.planned.changes(layer.name)
            what = " + ".join(group.packages) if group.packages else "everything else"
            extra = len(set(layer.packages) - set(group.packages))
            if extra and group.packages:
                what += f" (+{extra} in their closure)"
            why = f"changed {own} {'time' if own == 1 else 'times'} in {steps} {self.unit}"
            if layer.name == REST:
                why = f"rebuilt by every change ({steps})"
            elif rebuilt != own:
                why += f", rebuilt {rebuilt} times with the layers below"
            lines.append(f"{layer.name}: {what}: {size(layer.bytes)}, {why}")
        return lines


def steps_from_lock_history(
    commits: list[LockCommit],
    *,
    versions: Mapping[str, str] | None = None,
    sizes: Mapping[str, int] | None = None,
    wheels: Mapping[str, int] | None = None,
    ratio: float = 1.0,
) -> list[Step]:
    """The lock changes after the first commit (which builds everything whatever the grouping).

    With today's `versions` (name -> version(s) as `LockCommit.versions` spells them), `sizes` and
    `wheels` (today's uv.lock wheel sizes), each step carries its own sizes (`sizes_then`).
    """
    steps = []
    for commit in commits[1:]:
        if not commit.touched:
            continue
        then = None
        if versions is not None and sizes is not None and commit.versions:
            then = sizes_then(commit.versions, commit.wheel_bytes, versions, sizes, wheels or {}, ratio)
        steps.append(Step(commit.commit[:10] + " " + commit.subject, commit.date, frozenset(commit.touched), then))
    return steps


def sizes_then(
    versions_then: Mapping[str, str],
    wheels_then: Mapping[str, int],
    versions_now: Mapping[str, str],
    sizes_now: Mapping[str, int],
    wheels_now: Mapping[str, int],
    ratio: float,
) -> dict[str, int]:
    """Bytes per package as an older uv.lock installed them, in the units of today's `sizes_now`.

    - a package at today's version keeps today's size (measured in the image, or today's wheel);
    - at another version, that lock's wheel size scaled as the same package scales today (its size
      today over its wheel today), else by `ratio` (`optimize.WHEEL_RATIO` when today's sizes are
      installed sizes, 1 when they are wheel sizes);
    - with no wheel size in that lock (an sdist), today's size stands in;
    - a package locked today that today's sizes leave out is not installed (another platform's), nor
      is one that lock does not pin: neither is in the result.
    """
    result: dict[str, int] = {}
    for name, version in versions_then.items():
        now = sizes_now.get(name)
        if now is None and name in versions_now:
            continue
        if now is not None and version == versions_now.get(name):
            result[name] = now
        elif name in wheels_then:
            wheel_now = wheels_now.get(name)
            scale = now / wheel_now if now is not None and wheel_now else ratio
            result[name] = round(wheels_then[name] * scale)
        elif now is not None:
            result[name] = now
    return result


def steps_from_images(images: list[tuple[str, str, dict[str, str]]], sizes: Mapping[str, Mapping[str, int]] | None = None) -> list[Step]:
    """The changes between consecutive images of a repository's tags, oldest first by creation time.

    `images` holds (ref, created, installed name -> version) per image; a step's packages are those
    installed, removed or at another version than in the image before it (the first image builds
    everything whatever the grouping, as the first lock commit does). `sizes` (ref -> installed
    name -> bytes, measured in that image) gives each step its own sizes.
    """
    ordered = sorted(images, key=lambda image: created_order(image[1]))
    steps = []
    for (_, _, before), (ref, created, after) in zip(ordered, ordered[1:]):
        touched = frozenset(name for name in set(before) | set(after) if before.get(name) != after.get(name))
        if touched:
            steps.append(Step(ref, created, touched, sizes.get(ref) if sizes is not None else None))
    return steps


def replay(
    grouping: Grouping,
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    steps: list[Step],
    project_bytes: int = 0,
    cascade: bool = True,
) -> Replay:
    """Bytes each step rebuilds and pushes under `grouping` (an empty grouping is today's single layer)."""
    layers = plan_layers(grouping, lock, sizes, member)
    return _replay(grouping, layers, steps, project_bytes, cascade, member)


def with_figures(result: Replay, figures: list[int]) -> Replay:
    """`result` with each step's bytes replaced (by what the Dockerfile walk says); the layers rebuilt stay."""
    return Replay(result.grouping, result.layers, tuple(StepCost(s.step, s.rebuilt, b) for s, b in zip(result.steps, figures)))


def _replay(
    grouping: Grouping,
    layers: list[LayerPlan],
    steps: list[Step],
    project_bytes: int,
    cascade: bool = True,
    member: str = "",
    memo: dict[tuple[int, tuple[str, ...]], int] | None = None,
) -> Replay:
    """`replay` on layers already planned; `memo` keeps a layer's bytes at a step across the search's groupings."""
    memo = {} if memo is None else memo

    def bytes_at(index: int, step: Step, layer: LayerPlan) -> int:
        if step.sizes is None:
            return layer.bytes
        key = (index, layer.packages)
        if key not in memo:
            then = step.sizes
            memo[key] = sum(then.get(name, 0) for name in layer.packages)
        return memo[key]

    costs = []
    installs = [frozenset(layer.packages) for layer in layers[:-1]]
    for index, step in enumerate(steps):
        rebuilt: list[str] = []
        total = 0
        below = False
        for layer, packages in zip(layers[:-1], installs):
            if (below and cascade) or not step.touched.isdisjoint(packages):
                below = True
                rebuilt.append(layer.name)
                total += bytes_at(index, step, layer)
        if step.touched:
            rebuilt.append(REST)
            project = step.sizes.get(member, project_bytes) if step.sizes is not None and member else project_bytes
            total += bytes_at(index, step, layers[-1]) + project
        costs.append(StepCost(step, tuple(rebuilt), total))
    return Replay(grouping, tuple(layers), tuple(costs))


def _grouping(parts: list[list[str]]) -> Grouping:
    return Grouping(tuple(Group(GROUP_NAMES[i] if i < len(GROUP_NAMES) else f"layer-{i + 1}", tuple(p)) for i, p in enumerate(parts)))


def search(
    lock: Lock,
    sizes: dict[str, int],
    member: str,
    steps: list[Step],
    max_groups: int = MAX_GROUPS,
    project_bytes: int = 0,
    cascade: bool = True,
    also: Sequence[Dependency] = (),
) -> HistoryPlan:
    """The grouping with the fewest bytes pushed over `steps`, at most `max_groups` groups.

    Candidates (the largest direct dependencies) are ordered by how often their
    closure changed, rarest first; every split of a prefix of that order into
    at most `max_groups` contiguous groups is replayed, then single moves
    between groups improve the best until none does. Ties go to fewer groups.
    """
    if max_groups < 1:
        raise ValueError("a plan needs room for at least one group")
    items = [item for item in items_for(lock, sizes, member, also) if item.closure_bytes > 0][:MAX_CANDIDATES]

    def changes(item) -> int:
        return sum(1 for step in steps if step.touched & set(item.packages))

    ordered = [item.name for item in sorted(items, key=lambda item: (changes(item), -item.closure_bytes, item.name))]
    seen: dict[tuple, Replay] = {}
    memo: dict[tuple[int, tuple[str, ...]], int] = {}

    def run(parts: list[list[str]]) -> Replay:
        parts = [sorted(p) for p in parts if p]
        key = tuple(tuple(p) for p in parts)
        if key not in seen:
            grouping = _grouping(parts)
            seen[key] = _replay(grouping, plan_layers(grouping, lock, sizes, member), steps, project_bytes, cascade, member, memo)
        return seen[key]

    def rank(result: Replay) -> tuple:
        return (result.total, len(result.grouping.groups), sum(len(g.packages) for g in result.grouping.groups))

    best = run([])
    for prefix in range(1, len(ordered) + 1):
        for count in range(1, min(max_groups, prefix) + 1):
            for cuts in combinations(range(1, prefix), count - 1):
                bounds = (0, *cuts, prefix)
                candidate = run([ordered[a:b] for a, b in zip(bounds, bounds[1:])])
                if rank(candidate) < rank(best):
                    best = candidate
    improved = True
    while improved:
        improved = False
        parts = [list(group.packages) for group in best.grouping.groups]
        for name in ordered:
            source = next((i for i, p in enumerate(parts) if name in p), None)
            targets = list(range(len(parts))) + [None] + ([len(parts)] if len(parts) < max_groups else [])
            for target in targets:
                if target == source:
                    continue
                moved = [[n for n in p if n != name] for p in parts]
                if target is not None:
                    if target == len(moved):
                        moved.append([])
                    moved[target].append(name)
                candidate = run(moved)
                if rank(candidate) < rank(best):
                    best, improved = candidate, True
                    break
            if improved:
                break
    today = _replay(Grouping(), plan_layers(Grouping(), lock, sizes, member), steps, project_bytes, cascade, member, memo)
    return HistoryPlan(today, best)


def plan_document(plan: HistoryPlan) -> dict:
    """The plan and the replayed totals per step, today and with the plan (for `--format json`)."""
    return {
        "steps_replayed": len(plan.planned.steps),
        "figures_from": plan.figures_from,
        "layers": [
            {
                "name": layer.name,
                "packages": list(group.packages),
                "installs": list(layer.packages),
                "bytes": layer.bytes,
                "rebuilt": plan.planned.changes(layer.name),
            }
            for layer, group in zip(plan.planned.layers, plan.grouping.groups + (Group(REST),))
        ],
        "explanation": plan.lines(),
        "total_bytes": {"today": plan.today.total, "plan": plan.planned.total},
        "steps": [
            {
                "step": today.step.label,
                "date": today.step.date,
                "touched": sorted(today.step.touched),
                "today_bytes": today.bytes,
                "plan_bytes": planned.bytes,
                "plan_rebuilt": list(planned.rebuilt),
            }
            for today, planned in zip(plan.today.steps, plan.planned.steps)
        ],
    }
