"""Command line: `uvscope IMAGE`, `uvscope report IMAGE`, ...

Argument parsing only; the work is done by `uvscope.analysis`. Errors the
user can act on end the command with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Sequence

from uvscope.analysis.errors import GroupingError, NothingToDo, UvscopeError
from uvscope.analysis.output.formats import FORMATS, choose_format, render, to_json
from uvscope.analysis.read.kinds import SOURCE_KINDS

# The readers, the planner and the package's version are imported where used: `uvscope IMAGE`
# paints its first screen sooner without them.

COMMANDS = ("open", "report", "demo", "optimize", "diff", "history")


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR", help="where read layers are cached (default: $XDG_CACHE_HOME/uvscope)")
    parser.add_argument("--no-cache", action="store_true", help="neither use nor fill the layer cache")
    parser.add_argument("--stream", action="store_true", help="read through `docker save` even when the engine's storage is readable")


def _add_read_options(parser: argparse.ArgumentParser, images: str = "IMAGE") -> None:
    """How `images` are opened and read: the same options on every command that reads an image."""
    parser.add_argument(
        "--source",
        choices=SOURCE_KINDS,
        default="auto",
        help=f"where to read {images} from (auto: an existing file or folder is an archive or OCI layout, else the engine)",
    )
    parser.add_argument("--platform", help=f"os/arch[/variant] of {images} to pick from a multi-platform layout (default: this host's)")
    _add_cache_options(parser)


def _add_image_options(parser: argparse.ArgumentParser) -> None:
    """IMAGE, how it is read, and the uv project it is compared with: `open` and `report`."""
    parser.add_argument("image", metavar="IMAGE", help="engine reference, docker-save archive, or OCI layout (folder or tar)")
    _add_read_options(parser)
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="uv project whose uv.lock the image is compared with (default: the current folder's, else the image's own)",
    )


def _add_output_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """`--format` and `-o` of a command that writes a `kind` document (formats from `FORMATS`)."""
    formats = tuple(FORMATS[kind])
    parser.add_argument("--format", choices=formats, help=f"output format (default: from -o's extension, else {formats[0]})")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")


def _cache(args: argparse.Namespace):
    from uvscope.analysis.read.cache import LayerCache

    return None if args.no_cache else LayerCache(args.cache_dir)


class _VersionAction(argparse.Action):
    """`--version`: the version is looked up only when asked for (see `uvscope.app.__getattr__`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"uvscope {__version__}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line (and where to read more) instead of the usage block."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.removeprefix("uvscope").strip()
        self.exit(2, f"uvscope: error: {message} (see `uvscope {command + ' ' if command else ''}--help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `uvscope` command; each command's `func` runs it."""
    parser = _Parser(
        prog="uvscope",
        description="See where every byte of a Python project's Docker image comes from.",
        epilog="Run `uvscope IMAGE` for the interactive session, `uvscope report IMAGE` for a report.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    open_parser = commands.add_parser("open", help="open IMAGE in the interactive session (the default command)")
    _add_image_options(open_parser)
    open_parser.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    open_parser.set_defaults(func=_open)
    demo = commands.add_parser("demo", help="open the built-in demo image (built on first use, no Docker Engine needed)")
    demo.add_argument("--rebuild", action="store_true", help="build the demo image again")
    demo.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    demo.set_defaults(func=_demo, source="oci", platform=None, project=None, cache_dir=None, no_cache=False, stream=False)
    report = commands.add_parser("report", help="write a report of IMAGE")
    _add_image_options(report)
    _add_output_options(report, "report")
    report.add_argument("--ci", action="store_true", help="check the rules of [tool.uvscope.ci]; exit 1 if one fails")
    report.add_argument(
        "--ci-config",
        metavar="FILE",
        help="read the CI rules from this file instead: TOML, or dive's YAML .dive-ci (camelCase rule names)",
    )
    report.set_defaults(func=_report_command)
    optimize = commands.add_parser(
        "optimize", help="give heavy dependencies their own cached layer: write dependency groups and a revised Dockerfile"
    )
    optimize.set_defaults(func=_optimize)
    optimize.add_argument("--project", metavar="DIR", default=".", help="the uv project (default: the current folder)")
    optimize.add_argument(
        "--image",
        metavar="IMAGE",
        help="an image built from the project: installed package sizes for --suggest and the preview (default: uv.lock's wheel sizes)",
    )
    _add_read_options(optimize, "--image")
    optimize.add_argument(
        "--dockerfile", metavar="PATH", help="the Dockerfile to rewrite (default: DIR/Dockerfile, else DIR/Containerfile)"
    )
    optimize.add_argument("--package", metavar="MEMBER", help="the workspace member the image is built for")
    optimize.add_argument(
        "--group",
        metavar="NAME=PKG[,PKG...]",
        action="append",
        default=[],
        help="a group and its direct dependencies, bottom layer first; repeat",
    )
    optimize.add_argument(
        "--suggest",
        action="store_true",
        help="use uvscope's suggestion instead of --group: the grouping that would have pushed the fewest bytes over "
        "uv.lock's git history, else heavy, rarely changing closures",
    )
    optimize.add_argument(
        "--history-images",
        metavar="REPO|IMAGE,IMAGE[,...]",
        help="with --suggest: plan from the changes between images instead of uv.lock's git history: every tag of "
        "REPO (a name with no tag: the engine's local tags, as `uvscope history REPO`; registry://HOST/REPO: the "
        "registry's tags) or the images given; ordered by creation time, each change sized by its own image",
    )
    optimize.add_argument(
        "--max-groups", metavar="K", type=int, default=3, help="with --suggest: at most K groups below the rest (default: 3)"
    )
    mode = optimize.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the files (pyproject.toml, uv.lock, Dockerfile)")
    mode.add_argument("--dry-run", action="store_true", help="only show the diffs (the default)")
    mode.add_argument(
        "--prove",
        action="store_true",
        help="build the original and the revised Dockerfile in scratch copies, bump the version and add a light "
        "dependency, rebuild, and print what each re-creates (needs Docker with BuildKit; writes nothing)",
    )
    optimize.add_argument(
        "--docker-build-option",
        metavar="OPTION",
        action="append",
        default=[],
        help="with --prove: an option for `docker build` (e.g. --docker-build-option=--network=host); repeat",
    )
    optimize.add_argument(
        "--prove-dependency", metavar="NAME", help="with --prove: the new light dependency (default: a small package not yet locked)"
    )
    optimize.add_argument(
        "--keep-images",
        action="store_true",
        help="with --prove: keep the four images (tagged uvscope-prove/MEMBER:LABEL-WHEN-RUN, listed in the output)",
    )
    optimize.add_argument(
        "--format",
        choices=("md", "json"),
        default="md",
        help="output format (default: md); json prints the groups, the history plan with its replayed totals per step, "
        "the preview, the diffs and what was written (with --prove: the proof)",
    )
    diff = commands.add_parser("diff", help="what changed between two images, and what pulling B costs when you have A")
    diff.set_defaults(func=_diff)
    diff.add_argument("image_a", metavar="IMAGE_A")
    diff.add_argument("image_b", metavar="IMAGE_B")
    _add_read_options(diff, "IMAGE_A and IMAGE_B")
    diff.add_argument("--project", metavar="DIR", help="uv project whose uv.lock the images are compared with")
    _add_output_options(diff, "diff")
    diff.add_argument("--print", action="store_true", help="print the report even on a terminal (no session)")
    history = commands.add_parser("history", help="churn across the tags of a repository, and across the history of uv.lock")
    history.set_defaults(func=_history)
    history.add_argument(
        "images",
        metavar="REPO_OR_IMAGE",
        nargs="*",
        help="a repository (all its local tags; registry://HOST/REPO: the registry's tags) or several images",
    )
    history.add_argument("--tags", help="only these tags of REPO, comma separated")
    history.add_argument("--lock-history", metavar="DIR", help="walk the git history of DIR/uv.lock")
    history.add_argument("--image", metavar="IMAGE", help="with --lock-history: package sizes from this image")
    history.add_argument("--group", metavar="NAME=PKG[,PKG...]", action="append", default=[], help="a proposed group, for the estimate")
    history.add_argument("--package", metavar="MEMBER", help="the workspace member the image is built for")
    _add_cache_options(history)
    _add_output_options(history, "history")
    history.add_argument("--print", action="store_true", help="print the report even on a terminal (no session)")
    return parser


def _end_session(code: int) -> int:
    """End the process as soon as a session is over: `q` means gone within a second.

    Every file write is complete by now (the writer fsyncs and renames; worker threads that
    still run, such as a grouping write, are waited for), so the interpreter's teardown of
    a large analysed image, which can take longer than the session's own shutdown, is skipped.
    """
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _emit(text: str, output: str | None) -> None:
    if output:
        from uvscope.analysis.files import write_file

        write_file(output, text.encode())
    else:
        sys.stdout.write(text)


def _read(
    args: argparse.Namespace, ref: str, source: str = "auto", platform: str | None = None, project: str | None = None, warn: bool = True
):
    image, python, _, _ = _read_keyed(args, ref, source, platform, project, warn)
    return image, python


def _read_keyed(
    args: argparse.Namespace, ref: str, source: str = "auto", platform: str | None = None, project: str | None = None, warn: bool = True
):
    """`_read`, the key of its analysis in the cache (None without a cache), and the warnings it said."""
    from uvscope.analysis.packages.analysis_cache import analysis_key, read_and_analyse
    from uvscope.analysis.read.sources import open_source

    opened = open_source(ref, source, platform=platform, stream=args.stream)
    cache = _cache(args)
    # The model is ~10 objects per file and has no cycles: the cyclic collector would only
    # rescan it again and again while it grows (about a tenth of the cold time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        key = analysis_key(opened, project, getattr(args, "package", None)) if cache is not None else None
        image, python = read_and_analyse(opened, project, getattr(args, "package", None), cache=cache, key=key)
    finally:
        opened.close()
        if collecting:
            gc.enable()
    if warn:
        _warn(opened.notes, python)
    return image, python, key, _warnings(opened.notes, python)


def _warnings(notes, python) -> list[str]:
    return [*notes, *python.warnings]


def _warn(notes, python) -> None:
    """What the read could not do as asked, one line each on stderr (the report carries them too)."""
    for warning in _warnings(notes, python):
        print(f"uvscope: warning: {warning}", file=sys.stderr)


def _diff(args: argparse.Namespace) -> int:
    from uvscope.analysis.output.diff import diff_images

    if sys.stdout.isatty() and not args.output and not args.print and not args.format:
        from .app import make_diff_app, run_session

        app = make_diff_app(args.image_a, args.image_b, args.source, args.project, _cache(args), platform=args.platform, stream=args.stream)
        return _end_session(run_session(app))
    fmt = choose_format("diff", args.format, args.output)
    image_a, python_a = _read(args, args.image_a, args.source, args.platform, args.project)
    image_b, python_b = _read(args, args.image_b, args.source, args.platform, args.project)
    _emit(render("diff", fmt, diff_images(image_a, python_a, image_b, python_b)), args.output)
    return 0


def _history_metas(args: argparse.Namespace, notes: list[str]):
    """Metadata of the images `history` covers: a repository's tags (engine or registry), or the images given.

    What the user asked for and did not get (a `--tags` entry with no image) is added to `notes`.
    """
    from uvscope.analysis.read.repository import images_of, names_repository, repository_images

    if names_repository(args.images):
        repository = repository_images(args.images[0], args.tags.split(",") if args.tags else None)
        if repository.missing:
            notes.append(f"no tag {', '.join(repository.missing)} of {repository.name}: left out")
        return list(repository.metas)
    if args.tags:
        notes.append("--tags applies to a repository (REPO without a tag); ignored for the images given")
    return images_of(args.images)


def _layer_size(args: argparse.Namespace):
    """Exact layer sizes from the layer cache (layers read before), else None: history's figures then match `report`."""
    cache = _cache(args)
    return cache.layer_size if cache is not None else None


def _history(args: argparse.Namespace) -> int:
    from uvscope.analysis.output.history import history_document, image_history, rebuild_estimate
    from uvscope.analysis.packages.lockhistory import lock_history
    from uvscope.analysis.packages.uvlock import wheel_sizes
    from uvscope.analysis.plan.grouping import Group, Grouping, parse_group_option
    from uvscope.analysis.plan.layer_plan import sizes_then
    from uvscope.analysis.plan.optimize import WHEEL_RATIO
    from uvscope.analysis.plan.project_edit import read_project_file

    notes: list[str] = []

    def load_metas():
        return _history_metas(args, notes)

    if sys.stdout.isatty() and not args.output and not args.print and not args.format and args.images and not args.lock_history:
        from .app import make_history_app, run_session

        return _end_session(run_session(make_history_app(load_metas, _layer_size(args), notes)))
    fmt = choose_format("history", args.format, args.output)
    metas = load_metas() if args.images else []
    for note in notes:
        print(f"uvscope: warning: {note}", file=sys.stderr)
    if args.lock_history and not args.images and not args.image:
        print("uvscope: note: no images given: only the uv.lock history is shown (add REPO or images for their sizes)", file=sys.stderr)
    commits, estimates = None, None
    if args.lock_history:
        commits = lock_history(args.lock_history)
        if args.image:
            image, python = _read(args, args.image, project=args.lock_history)
            if python.lock is None:
                raise UvscopeError(f"no uv.lock to size packages with (looked in {args.lock_history} and in the image)")
            sizes = python.lock.sizes
            lock = python.lock.lock
            member = python.lock.member
            if member is None:
                raise UvscopeError(f"several workspace members ({', '.join(lock.members)}): choose one with --package")
            grouping = None
            if args.group:
                grouping = Grouping(tuple(Group(name, tuple(packages)) for name, packages in map(parse_group_option, args.group)))
            # each commit sized as it locked its packages, as `optimize --suggest` replays it
            lock_path = os.path.join(args.lock_history, "uv.lock")
            wheels = wheel_sizes(read_project_file(lock_path).text) if os.path.isfile(lock_path) else {}
            versions = {name: ",".join(pinned) for name, pinned in lock.pins().items()}

            def then(commit):
                return sizes_then(commit.versions, commit.wheel_bytes, versions, sizes, wheels, WHEEL_RATIO) if commit.versions else None

            estimates = [rebuild_estimate(commit, lock, sizes, member, grouping, then(commit)) for commit in commits]
    elif not args.images:
        raise UvscopeError("give a repository, images, or --lock-history DIR")
    document = history_document(image_history(metas, _layer_size(args)), commits, estimates)
    _emit(render("history", fmt, document), args.output)
    return 0


def _optimize(args: argparse.Namespace) -> int:
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
        image, python = _read(args, args.image, args.source, args.platform, args.project, warn=False)
        if python.mismatch:
            raise UvscopeError(f"{python.mismatch}: give --image an image built from this project")
        _warn((), python)
        if python.lock is not None:
            sizes = python.lock.sizes
            package = package or python.lock.member
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
    )
    if args.format == "json" and not args.prove:
        return _optimize_json(args, plan)
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
        image, python = _read(args, ref, source, args.platform, args.project, warn=False)
        snapshots.append((ref, image.meta.created, {d.name: d.version for d in python.attribution.distributions}))
        sizes[ref] = python.lock.sizes if python.lock is not None else {d.name: d.bytes for d in python.attribution.distributions}
        order = created_order(image.meta.created)
        if python.lock is not None and not python.mismatch and (newest[0] is None or order >= newest[0]):
            newest = (order, python.lock.sizes)
    return steps_from_images(snapshots, sizes), newest[1]


def _optimize_json(args: argparse.Namespace, plan) -> int:
    """`optimize --format json` without --prove: the plan, its replayed history, the preview, the diffs, what was written."""
    from uvscope.analysis.plan.layer_plan import plan_document
    from uvscope.analysis.plan.optimize import apply_plan

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
        "diffs": {change.path: change.diff() for change in (plan.pyproject, plan.dockerfile) if change is not None},
        "notes": list(plan.rewrite.notes) if plan.rewrite else [],
        "written": written,
    }
    sys.stdout.write(to_json(document))
    return 0


def _prove(args: argparse.Namespace, plan) -> int:
    from uvscope.analysis.output.text import size
    from uvscope.analysis.plan.prove import prove

    def say(text: str) -> None:
        print(f"uvscope: {text}", file=sys.stderr, flush=True)

    proof = prove(
        plan,
        args.project,
        build_options=tuple(args.docker_build_option),
        dependency=args.prove_dependency,
        keep_images=args.keep_images,
        progress=say,
    )
    rows = []
    for result in (proof.original, proof.revised):
        rows.append(
            {
                "dockerfile": result.label,
                "image_bytes": result.after.size,
                "recreated_bytes": result.recreated_bytes,
                "recreated_share": round(result.recreated_share, 6),
                "groups_kept": {group: result.kept(group) for group in proof.groups} if result.label == "revised" else {},
                "group_layers": {group: list(ids) for group, ids in result.group_layers.items()},
                "images": {"before": result.before.tag, "after": result.after.tag},
                "diff_ids": {"before": list(result.before.diff_ids), "after": list(result.after.diff_ids)},
            }
        )
    predicted = {"today": proof.predicted[0], "with_groups": proof.predicted[1]} if proof.predicted else None
    if args.format == "json":
        document = {
            "change": proof.change,
            "groups": list(proof.groups),
            "shape": plan.rewrite.shape,
            "results": rows,
            "predicted_bump": predicted,
        }
        sys.stdout.write(to_json(document))
        return 0
    out = sys.stdout
    out.write(f"\n## uvscope --prove: {proof.change}\n\n")
    out.write("| Dockerfile | final image | re-created after the change | groups' layers |\n|---|---:|---:|---|\n")
    for row in rows:
        kept = ", ".join(f"{group} {'kept' if ok else 'REBUILT'}" for group, ok in row["groups_kept"].items()) or "-"
        out.write(
            f"| {row['dockerfile']} | {size(row['image_bytes'])} | {size(row['recreated_bytes'])} ({row['recreated_share']:.1%}) | {kept} |\n"
        )
    if predicted:
        out.write(
            f"\nuvscope's preview, with package sizes from the original image, said a version bump re-creates "
            f"{size(predicted['today'])} today and {size(predicted['with_groups'])} with the groups "
            "(Python packages and project files only)\n"
        )
    if args.keep_images:
        out.write("\nimages: " + ", ".join(f"{row['images']['before']} {row['images']['after']}" for row in rows) + "\n")
    return 0


def _cached_report(args: argparse.Namespace) -> int | None:
    """`uvscope report` of an image reported before with the same project and uvscope: one record, no image model."""
    from uvscope.analysis.packages.analysis_cache import analysis_key, get_report
    from uvscope.analysis.read.sources import open_source

    from . import __version__

    cache = _cache(args)
    if cache is None or args.ci:
        return None
    opened = open_source(args.image, args.source, platform=args.platform, stream=args.stream)
    try:
        key = analysis_key(opened, args.project, getattr(args, "package", None))
    finally:
        opened.close()
    found = get_report(cache, key, __version__) if key is not None else None
    if found is None:
        return None
    document, warnings = found
    for warning in warnings:
        print(f"uvscope: warning: {warning}", file=sys.stderr)
    _write_report(args, document)
    return 0


def _write_report(args: argparse.Namespace, document: dict) -> None:
    text = render("report", args.format, document)
    if args.output:
        from uvscope.analysis.files import write_file

        write_file(args.output, text.encode())
    elif not args.ci:
        sys.stdout.write(text)


def _report_command(args: argparse.Namespace) -> int:
    """`uvscope report IMAGE`: the report, from the cache when it has one; with `--ci`, the rules' verdict too."""
    args.format = choose_format("report", args.format, args.output)
    rules = None
    if args.ci:
        from uvscope.analysis.output.ci import load_rules

        rules = load_rules(args.project, args.ci_config)  # before anything is read or written: a bad rule is exit 2
    else:
        done = _cached_report(args)
        if done is not None:
            return done
    image, python, key, warnings = _read_keyed(args, args.image, args.source, args.platform, args.project)
    return _report(args, image, python, rules, key, warnings)


def _report(args: argparse.Namespace, image, python, rules, key: str | None = None, warnings: Sequence[str] = ()) -> int:
    from uvscope.analysis.output.report import build_report

    from . import __version__

    document = build_report(image, python, version=__version__)
    results = []
    if rules is not None:
        from uvscope.analysis.output.ci import evaluate

        results = evaluate(rules, image, python)
        document["ci"] = {
            "origin": rules.origin,
            "rules": rules.rules,
            "results": [{"rule": r.rule, "status": r.status, "detail": r.detail} for r in results],
            "passed": not any(r.status == "FAIL" for r in results),
        }
    cache = _cache(args)
    if cache is not None and key is not None and rules is None:
        from uvscope.analysis.packages.analysis_cache import put_report

        put_report(cache, key, __version__, document, warnings)
    _write_report(args, document)
    if rules is None:
        return 0
    from uvscope.analysis.output.ci import describe

    print(f"{rules.origin}: {describe(rules.rules)}")
    for result in results:
        print(f"{result.status:<4}  {result.rule}: {result.detail}")
    failed = [r for r in results if r.status == "FAIL"]
    print(f"{'FAIL' if failed else 'PASS'}: {len(results) - len(failed)} of {len(results)} rules passed or skipped")
    return 1 if failed else 0


def _open(args: argparse.Namespace) -> int:
    """`uvscope IMAGE`: the session on a terminal, else (or with `--summary`) a text summary."""
    if sys.stdout.isatty() and not args.summary:
        from .app import make_app, run_session

        app = make_app(
            args.image, args.source, args.platform, args.project, cache_dir=args.cache_dir, no_cache=args.no_cache, stream=args.stream
        )
        return _end_session(run_session(app))
    from uvscope.analysis.output.text import summary_lines

    image, python = _read(args, args.image, args.source, args.platform, args.project)
    sys.stdout.write("\n".join(summary_lines(image, python)) + "\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """`uvscope demo`: build the demo image (an OCI layout) on first use, then open it as `open` does."""
    import time

    from .demo import IMAGE_NAME, build_demo_image, cache_folder

    if args.rebuild:
        (cache_folder() / IMAGE_NAME).unlink(missing_ok=True)
    started = time.monotonic()

    def say(text: str) -> None:
        print(f"uvscope: {text} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)

    args.image = str(build_demo_image(progress=say))
    return _open(args)


REPORT_ONLY_OPTIONS = ("--ci", "--ci-config", "--format", "-o", "--output")
"""Options of `report` a user may give `uvscope IMAGE` (dive takes `dive IMAGE --ci`)."""


def _mistyped_command(word: str) -> str | None:
    """`did you mean report?` for a word that is close to a command and is not an image we can find."""
    import difflib

    if os.path.exists(word) or any(mark in word for mark in ":/@."):
        return None  # a path, a tagged reference or a registry address: an image
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1, cutoff=0.7)
    if not close:
        return None
    return f"no command {word!r}: did you mean `uvscope {close[0]}`? (commands: {', '.join(COMMANDS)})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `uvscope` console script: every line it prints is shown safely (`terminal.safe_streams`)."""
    from .terminal import safe_streams

    with safe_streams():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not arguments[0].startswith("-") and arguments[0] not in COMMANDS:
        mistake = _mistyped_command(arguments[0])
        if mistake:
            print(f"uvscope: error: {mistake}", file=sys.stderr)
            return 2
        misplaced = sorted(set(arguments) & set(REPORT_ONLY_OPTIONS))
        if misplaced:
            print(
                f"uvscope: error: {', '.join(misplaced)} belongs to `uvscope report`: "
                f"uvscope report {arguments[0]} {' '.join(arguments[1:])}",
                file=sys.stderr,
            )
            return 2
        arguments.insert(0, "open")
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except NothingToDo as done:
        print(f"uvscope: {done}")
        return 0
    except UvscopeError as error:
        print(f"uvscope: error: {error}", file=sys.stderr)
        return error.exit_code
    except GroupingError as error:  # a bad --group option
        print(f"uvscope: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside a write (a write's own handler says which files are in which state)
        print("uvscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # a bug: say so in one line; the traceback on request
        if os.environ.get("UVSCOPE_DEBUG"):
            traceback.print_exc()
        print(f"uvscope: internal error: {type(error).__name__}: {error} (set UVSCOPE_DEBUG=1 for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
