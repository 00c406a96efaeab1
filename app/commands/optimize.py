"""`uvscope optimize`: give heavy dependencies their own cached layer (dependency groups and a revised Dockerfile)."""

from __future__ import annotations

import argparse
import sys

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.output.formats import to_json

from .shared import layer_cache, print_warnings, read_image


def optimize_command(args: argparse.Namespace) -> int:
    """`uvscope optimize`: the groups, the preview and the diffs; with --write the files, with --prove the proof."""
    from uvscope.analysis.output.text import count, size
    from uvscope.analysis.plan.grouping import HEAVY_MIN_BYTES
    from uvscope.analysis.plan.optimize import WHEEL_RATIO, apply_plan, plan_optimization
    from uvscope.analysis.plan.project_edit import check_project_dir, merge_group_options

    check_project_dir(args.project)
    prove_only = [
        flag
        for flag, value in (
            ("--keep-images", args.keep_images),
            ("--docker-build-option", args.docker_build_option),
            ("--prove-dependency", args.prove_dependency),
            ("--prove-registry", args.prove_registry),
            ("--prove-cold", args.prove_cold),
            ("--no-push", args.no_push),
        )
        if value
    ]
    if prove_only and not args.prove:
        raise UvscopeError(f"{prove_only[0]} only goes with --prove")
    if args.group and args.suggest:
        raise UvscopeError("--group and --suggest: give the groups, or ask for uvscope's suggestion, not both")
    if args.max_groups < 1:
        raise UvscopeError(f"--max-groups wants a positive number, got {args.max_groups}")
    args.group = merge_group_options(args.group)
    sizes = None
    package = args.package
    if args.image:
        image, python = read_image(args, args.image, args.source, args.platform, args.project, warn=False)
        if python.mismatch:
            raise UvscopeError(f"{python.mismatch}: give --image an image built from this project")
        print_warnings((), python)
        if python.lock is not None:
            sizes = python.lock.sizes
            package = package or python.lock.member
    ratio = None
    if args.image and not args.prove:
        from uvscope.analysis.plan.push_cost import image_compression_ratio

        ratio = image_compression_ratio(args.image, args.source, image, python.attribution, layer_cache(args), args.platform)
    history, newest = _history_steps(args) if args.history_images else (None, None)
    if sizes is None and newest is not None:  # no --image: today's sizes are the newest image's, as the steps' are their own
        sizes = newest
    plan = plan_optimization(
        args.project,
        groups=args.group,
        use_suggestion=args.suggest,
        sizes=sizes,
        dockerfile=args.dockerfile,
        package=package,
        max_groups=args.max_groups,
        history=history,
        target=args.target,
    )
    if args.format == "json" and not args.prove:
        return _optimize_json(args, plan, ratio)
    out = sys.stdout
    if args.suggest and sizes is None:
        out.write(
            f"suggested from {plan.sizes_from} (no --image): a closure counts as heavy from "
            f"{size(int(HEAVY_MIN_BYTES / WHEEL_RATIO))} of wheels, about 20 MB installed\n"
        )
    if plan.history_plan is not None:
        history = plan.history_plan
        where = "changes between the images" if args.history_images else "changes of uv.lock's git history"
        out.write(f"plan from the last {len(history.planned.steps)} {where} (layers bottom first):\n")
        for line in history.lines():
            out.write(f"  {line}\n")
        out.write(f"  pushed over those changes: {size(history.today.total)} today, {size(history.planned.total)} with these groups\n")
    for group in plan.grouping.groups:
        out.write(f"group {group.name}: {', '.join(group.packages)}\n")
    if plan.preview is not None:
        for layer in plan.preview.layers:
            out.write(f"  layer {layer.name}: {size(layer.bytes)} ({count(len(layer.packages), 'package')})\n")
        where = "in the final image" if plan.rewrite is not None else "(the usual uv Dockerfile; no Dockerfile found)"
        out.write(f"what a change re-creates {where}, sizes from {plan.sizes_from}:\n")
        for cost in plan.preview.costs:
            out.write(f"  {cost.change}: {size(cost.today)} today, {size(cost.proposed)} with the groups\n")
        if ratio is not None:
            from uvscope.analysis.plan.push_cost import estimate_pushed

            out.write(f"what a push of it uploads (an estimate: the image's Python layers compress to {ratio:.0%}):\n")
            for cost in plan.preview.costs:
                today, proposed = estimate_pushed(cost.today, ratio), estimate_pushed(cost.proposed, ratio)
                out.write(f"  {cost.change}: about {size(today)} today, {size(proposed)} with the groups\n")
        if plan.rewrite is not None:
            from uvscope.analysis.plan.cold_build import github_actions_lines

            out.write("for CI to reuse the groups' stages, add to the docker/build-push-action step:\n")
            out.write("".join(f"  {line}\n" for line in github_actions_lines("REGISTRY/IMAGE")))
    if plan.already_kept:
        out.write(f"note: the Dockerfile already keeps {', '.join(plan.already_kept)} in layers a version bump leaves as they were\n")
    out.write("\n" + plan.pyproject.diff())
    if plan.dockerfile is not None:
        out.write("\n" + plan.dockerfile.diff())
        for note in plan.rewrite.notes if plan.rewrite else ():
            out.write(f"note: {note}\n")
    else:
        out.write("note: no Dockerfile found; only pyproject.toml would change\n")
    if args.prove:
        return _prove(args, plan)
    if not args.write:
        out.write("\n(dry run: nothing written; add --write to write these files and re-lock)\n")
        return 0
    written = apply_plan(plan)
    for path in written:
        out.write(f"wrote {path}\n")
    if not written:
        out.write("nothing to write: the files already hold these groups (uv lock --check passed)\n")
    if plan.preview is not None and plan.rewrite is not None:
        bump = plan.preview.costs[0]
        out.write(
            f"a version bump now re-creates about {size(bump.proposed)} of Python packages and project files in the final image "
            f"(was {size(bump.today)}); check it with `uvscope optimize --prove` before you push\n"
        )
    return 0


def _history_steps(args: argparse.Namespace):
    """`optimize --history-images`: the changes between a repository's tags (engine or registry, listed as
    `history REPO` lists them) or between the images given, each step sized by its own image's distributions;
    and the newest image's sizes when it was built from this project's uv.lock (else None)."""
    from uvscope.analysis.plan.layer_plan import steps_from_images
    from uvscope.analysis.read.repository import REGISTRY_PREFIXES, names_repository, repository_images

    if not args.suggest:
        raise UvscopeError("--history-images plans the groups: use it with --suggest")
    refs = [ref for ref in args.history_images.split(",") if ref]
    source = args.source
    if names_repository(refs):
        source = "auto" if refs[0].startswith(REGISTRY_PREFIXES) else "docker"
        refs = list(repository_images(refs[0]).refs)
        if len(refs) < 2:
            raise UvscopeError(f"--history-images {args.history_images}: one tag ({refs[0]}); a change needs at least two")
    elif len(refs) < 2:
        raise UvscopeError("--history-images wants a repository or at least two images to see a change")
    from uvscope.analysis.image.model import created_order

    snapshots, sizes, newest = [], {}, (None, None)
    for ref in refs:
        image, python = read_image(args, ref, source, args.platform, args.project, warn=False)
        snapshots.append((ref, image.meta.created, {d.name: d.version for d in python.attribution.distributions}))
        sizes[ref] = python.lock.sizes if python.lock is not None else {d.name: d.bytes for d in python.attribution.distributions}
        order = created_order(image.meta.created)
        if python.lock is not None and not python.mismatch and (newest[0] is None or order >= newest[0]):
            newest = (order, python.lock.sizes)
    return steps_from_images(snapshots, sizes), newest[1]


def _optimize_json(args: argparse.Namespace, plan, ratio: float | None = None) -> int:
    """`optimize --format json` without --prove: the plan, its replayed history, the preview, the diffs, what was written."""
    from uvscope.analysis.plan.cold_build import github_actions_lines
    from uvscope.analysis.plan.layer_plan import plan_document
    from uvscope.analysis.plan.optimize import apply_plan
    from uvscope.analysis.plan.push_cost import estimate_pushed

    written = apply_plan(plan) if args.write else []
    document = {
        "schema": "uvscope.optimize/1",
        "member": plan.member,
        "groups": [{"name": group.name, "packages": list(group.packages)} for group in plan.grouping.groups],
        "history_plan": plan_document(plan.history_plan) if plan.history_plan is not None else None,
        "layers": [
            {"name": layer.name, "bytes": layer.bytes, "packages": list(layer.packages)}
            for layer in (plan.preview.layers if plan.preview else ())
        ],
        "sizes_from": plan.sizes_from,
        "costs": [
            {"change": cost.change, "today_bytes": cost.today, "proposed_bytes": cost.proposed}
            for cost in (plan.preview.costs if plan.preview else ())
        ],
        "pushed_estimate": None
        if ratio is None
        else {
            "compression_ratio": round(ratio, 4),
            "estimate": True,
            "costs": [
                {"change": c.change, "today_bytes": estimate_pushed(c.today, ratio), "proposed_bytes": estimate_pushed(c.proposed, ratio)}
                for c in (plan.preview.costs if plan.preview else ())
            ],
        },
        "github_actions": github_actions_lines("REGISTRY/IMAGE") if plan.rewrite is not None else [],
        "diffs": {change.path: change.diff() for change in (plan.pyproject, plan.dockerfile) if change is not None},
        "notes": list(plan.rewrite.notes) if plan.rewrite else [],
        "written": written,
    }
    sys.stdout.write(to_json(document))
    return 0


def _prove(args: argparse.Namespace, plan) -> int:
    from uvscope.analysis.output.proof import proof_document, proof_markdown
    from uvscope.analysis.plan.prove import prove

    if args.no_push and (args.prove_registry or args.prove_cold):
        raise UvscopeError(f"--no-push and {'--prove-registry' if args.prove_registry else '--prove-cold'}: that one pushes")

    def say(text: str) -> None:
        print(f"uvscope: {text}", file=sys.stderr, flush=True)

    proof = prove(
        plan,
        args.project,
        build_options=tuple(args.docker_build_option),
        dependency=args.prove_dependency,
        keep_images=args.keep_images,
        progress=say,
        push=not args.no_push,
        registry=args.prove_registry,
        cold=args.prove_cold,
    )
    document = proof_document(proof, plan.rewrite.shape)
    if args.format == "json":
        sys.stdout.write(to_json(document))
    else:
        sys.stdout.write(proof_markdown(document, args.keep_images))
    return 0
