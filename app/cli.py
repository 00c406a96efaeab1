"""Command line: `uvscope IMAGE`, `uvscope report IMAGE`, ...

Argument parsing only; the work is done by `uvscope.analysis`. Errors the
user can act on end the command with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import traceback
from collections.abc import Sequence

from uvscope.analysis.errors import GroupingError, NothingToDo, UvscopeError
from uvscope.analysis.read.kinds import SOURCE_KINDS

# The readers, the planner and the package's version are imported where used: `uvscope IMAGE`
# paints its first screen sooner without them.

COMMANDS = ("open", "report", "demo", "optimize", "diff", "history")
REPORT_FORMATS = ("json", "md", "html")
DIFF_FORMATS = ("md", "json", "html")


def _add_image_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="engine reference, docker-save archive, or OCI layout (folder or tar)")
    parser.add_argument(
        "--source",
        choices=SOURCE_KINDS,
        default="auto",
        help="where IMAGE is read from (auto: an existing file or folder is an archive or OCI layout, else the engine)",
    )
    parser.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform layout (default: this host's)")
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="uv project whose uv.lock the image is compared with (default: the current folder's, else the image's own)",
    )
    _add_read_options(parser)


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR", help="where read layers are cached (default: $XDG_CACHE_HOME/uvscope)")
    parser.add_argument("--no-cache", action="store_true", help="neither use nor fill the layer cache")
    parser.add_argument("--stream", action="store_true", help="read through `docker save` even when the engine's storage is readable")


def _cache(args: argparse.Namespace):
    from uvscope.analysis.read.cache import LayerCache

    return None if getattr(args, "no_cache", False) else LayerCache(getattr(args, "cache_dir", None))


class _VersionAction(argparse.Action):
    """`--version`: the version is looked up only when asked for (see `uvscope.app.__getattr__`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"uvscope {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `uvscope` command."""
    parser = argparse.ArgumentParser(
        prog="uvscope",
        description="See where every byte of a Python project's Docker image comes from.",
        epilog="Run `uvscope IMAGE` for the interactive session, `uvscope report IMAGE` for a report.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    open_parser = commands.add_parser("open", help="open IMAGE in the interactive session (the default command)")
    _add_image_options(open_parser)
    open_parser.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    demo = commands.add_parser("demo", help="open the built-in demo image (built on first use, no Docker Engine needed)")
    demo.add_argument("--rebuild", action="store_true", help="build the demo image again")
    demo.add_argument("--summary", action="store_true", help="print a text summary instead of the session")
    report = commands.add_parser("report", help="write a report of IMAGE")
    _add_image_options(report)
    report.add_argument("--format", choices=REPORT_FORMATS, help="report format (default: from -o's extension, else json)")
    report.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of standard output")
    report.add_argument("--ci", action="store_true", help="check the rules of [tool.uvscope.ci]; exit 1 if one fails")
    report.add_argument(
        "--ci-config",
        metavar="FILE",
        help="read the CI rules from this file instead: TOML, or dive's YAML .dive-ci (camelCase rule names)",
    )
    optimize = commands.add_parser(
        "optimize", help="give heavy dependencies their own cached layer: write dependency groups and a revised Dockerfile"
    )
    optimize.add_argument("--project", metavar="DIR", default=".", help="the uv project (default: the current folder)")
    optimize.add_argument(
        "--image",
        metavar="IMAGE",
        help="an image built from the project: installed package sizes for --suggest and the preview (default: uv.lock's wheel sizes)",
    )
    optimize.add_argument("--source", choices=SOURCE_KINDS, default="auto", help="where --image is read from")
    _add_read_options(optimize)
    optimize.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile to rewrite (default: DIR/Dockerfile)")
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
        metavar="IMAGE[,IMAGE...]",
        help="with --suggest: plan from the changes between these images (e.g. a repository's tags; ordered by "
        "creation time) instead of uv.lock's git history",
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
    optimize.add_argument("--keep-images", action="store_true", help="with --prove: keep the four images (tagged uvscope-prove/MEMBER:...)")
    optimize.add_argument(
        "--format",
        choices=("md", "json"),
        default="md",
        help="output format (default: md); json prints the groups, the history plan with its replayed totals per step, "
        "the preview, the diffs and what was written (with --prove: the proof)",
    )
    diff = commands.add_parser("diff", help="what changed between two images, and what pulling B costs when you have A")
    diff.add_argument("image_a", metavar="IMAGE_A")
    diff.add_argument("image_b", metavar="IMAGE_B")
    diff.add_argument("--source", choices=SOURCE_KINDS, default="auto", help="where the images are read from")
    diff.add_argument("--platform", help="os/arch[/variant] for multi-platform layouts")
    diff.add_argument("--project", metavar="DIR", help="uv project whose uv.lock the images are compared with")
    diff.add_argument("--format", choices=DIFF_FORMATS, help="output format (default: from -o's extension, else md)")
    _add_read_options(diff)
    diff.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    diff.add_argument("--print", action="store_true", help="print the report even on a terminal (no session)")
    history = commands.add_parser("history", help="churn across the tags of a repository, and across the history of uv.lock")
    history.add_argument("images", metavar="REPO_OR_IMAGE", nargs="*", help="a repository (all its local tags) or several images")
    history.add_argument("--tags", help="only these tags of REPO, comma separated")
    history.add_argument("--lock-history", metavar="DIR", help="walk the git history of DIR/uv.lock")
    history.add_argument("--image", metavar="IMAGE", help="with --lock-history: package sizes from this image")
    history.add_argument("--group", metavar="NAME=PKG[,PKG...]", action="append", default=[], help="a proposed group, for the estimate")
    history.add_argument("--package", metavar="MEMBER", help="the workspace member the image is built for")
    history.add_argument("--format", choices=("md", "json"), default="md", help="output format (default: md)")
    _add_read_options(history)
    history.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
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

    opened = open_source(ref, source, platform=platform, stream=getattr(args, "stream", False))
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
    from uvscope.analysis.output.markdown import diff_markdown

    if sys.stdout.isatty() and not args.output and not args.print and not args.format:
        from .app import make_diff_app, run_session

        return _end_session(run_session(make_diff_app(args.image_a, args.image_b, args.source, args.project, _cache(args))))
    fmt = output_format(args.format, args.output, DIFF_FORMATS, default="md")
    image_a, python_a = _read(args, args.image_a, args.source, args.platform, args.project)
    image_b, python_b = _read(args, args.image_b, args.source, args.platform, args.project)
    document = diff_images(image_a, python_a, image_b, python_b)
    if fmt == "html":
        from uvscope.analysis.output.html_report import diff_html

        text = diff_html(document)
    else:
        text = json.dumps(document, indent=2) + "\n" if fmt == "json" else diff_markdown(document) + "\n"
    _emit(text, args.output)
    return 0


def _missing_tags(args: argparse.Namespace, found: list[str], repository: str, notes: list[str]) -> None:
    """`--tags` that name no image: said, not ignored."""
    if args.tags:
        missing = [tag for tag in args.tags.split(",") if tag and tag not in set(found)]
        if missing:
            notes.append(f"no tag {', '.join(missing)} of {repository}: left out")


def _history_metas(args: argparse.Namespace, notes: list[str]):
    """Metadata of the images `history` covers: a repository's local tags, a registry repository's tags, or the images given.

    What the user asked for and did not get (a `--tags` entry with no image) is added to `notes`.
    """
    from uvscope.analysis.read.engine import EngineImage, engine_client
    from uvscope.analysis.read.sources import open_source

    if len(args.images) == 1 and args.images[0].startswith(("registry://", "registry+http://")):
        from uvscope.analysis.read.registry import RegistryClient, parse_registry_ref

        repository = parse_registry_ref(args.images[0])
        tags = RegistryClient(repository).tags()
        if args.tags:
            _missing_tags(args, tags, args.images[0], notes)
            tags = [tag for tag in tags if tag in set(args.tags.split(","))]
        base = args.images[0].rsplit(":", 1)[0] if ":" in args.images[0].rpartition("/")[2] else args.images[0]
        # Manifests and configs only: opening a registry source reads no layer.
        return [open_source(f"{base}:{tag}").meta() for tag in tags]
    client = engine_client()
    refs = list(args.images)
    if len(refs) == 1 and ":" not in refs[0].rpartition("/")[2] and "@" not in refs[0]:
        repository = refs[0]
        wanted = set(args.tags.split(",")) if args.tags else None
        refs = sorted({tag for image in client.images.list(name=repository) for tag in image.tags if tag.rpartition(":")[0] == repository})
        if wanted is not None:
            _missing_tags(args, [ref.rpartition(":")[2] for ref in refs], repository, notes)
            refs = [ref for ref in refs if ref.rpartition(":")[2] in wanted]
        if not refs:
            raise UvscopeError(f"no local tags of {repository!r} in the Docker Engine" + (f" ({notes[-1]})" if notes else ""))
    elif args.tags:
        notes.append("--tags applies to a repository (REPO without a tag); ignored for the images given")
    return [EngineImage(ref, client).meta() for ref in refs]


def _layer_size(args: argparse.Namespace):
    """Exact layer sizes from the layer cache (layers read before), else None: history's figures then match `report`."""
    cache = _cache(args)
    return cache.layer_size if cache is not None else None


def _history(args: argparse.Namespace) -> int:
    from uvscope.analysis.output.history import history_document, image_history, rebuild_estimate
    from uvscope.analysis.output.markdown import history_markdown
    from uvscope.analysis.packages.lockhistory import lock_history
    from uvscope.analysis.plan.grouping import Group, Grouping, parse_group_option

    notes: list[str] = []

    def load_metas():
        return _history_metas(args, notes)

    if sys.stdout.isatty() and not args.output and not args.print and args.images and not args.lock_history:
        from .app import make_history_app, run_session

        return _end_session(run_session(make_history_app(load_metas, _layer_size(args), notes)))
    metas = load_metas() if args.images else []
    for note in notes:
        print(f"uvscope: warning: {note}", file=sys.stderr)
    if args.lock_history and not args.images:
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
            estimates = [rebuild_estimate(commit, lock, sizes, member, grouping) for commit in commits]
    elif not args.images:
        raise UvscopeError("give a repository, images, or --lock-history DIR")
    document = history_document(image_history(metas, _layer_size(args)), commits, estimates)
    _emit(json.dumps(document, indent=2) + "\n" if args.format == "json" else history_markdown(document) + "\n", args.output)
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
        image, python = _read(args, args.image, args.source, project=args.project, warn=False)
        if python.mismatch:
            raise UvscopeError(f"{python.mismatch}: give --image an image built from this project")
        _warn((), python)
        if python.lock is not None:
            sizes = python.lock.sizes
            package = package or python.lock.member
    history = None
    if args.history_images:
        from uvscope.analysis.plan.layer_plan import steps_from_images

        if not args.suggest:
            raise UvscopeError("--history-images plans the groups: use it with --suggest")
        refs = [ref for ref in args.history_images.split(",") if ref]
        if len(refs) < 2:
            raise UvscopeError("--history-images wants at least two images to see a change")
        snapshots = []
        for ref in refs:
            image, python = _read(args, ref, args.source, project=args.project, warn=False)
            snapshots.append((ref, image.meta.created, {d.name: d.version for d in python.attribution.distributions}))
        history = steps_from_images(snapshots)
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
        where = "changes between the images given" if args.history_images else "changes of uv.lock's git history"
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


def _optimize_json(args: argparse.Namespace, plan) -> int:
    """`optimize --format json` without --prove: the plan, its replayed history, the preview, the diffs, what was written."""
    import json

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
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    return 0


def _prove(args: argparse.Namespace, plan) -> int:
    import json

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
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
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


FORMAT_OF_EXTENSION = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}


def output_format(requested: str | None, output: str | None, choices: Sequence[str], default: str = "json") -> str:
    """The format of a report: `--format`, else the one `-o FILE`'s extension names, else json.

    A `--format` that contradicts the extension (`--format json -o r.html`) is a usage error.
    """
    implied = FORMAT_OF_EXTENSION.get(os.path.splitext(output or "")[1].lower())
    if implied is not None and implied not in choices:
        implied = None
    if requested and implied and requested != implied:
        raise UvscopeError(f"--format {requested} contradicts -o {output} (a .{implied} file): drop one or make them agree")
    return requested or implied or default


def _cached_report(args: argparse.Namespace) -> int | None:
    """`uvscope report` of an image reported before with the same project and uvscope: one record, no image model."""
    from uvscope.analysis.packages.analysis_cache import analysis_key, get_report
    from uvscope.analysis.read.sources import open_source

    from . import __version__

    cache = _cache(args)
    if cache is None or args.ci:
        return None
    opened = open_source(args.image, args.source, platform=args.platform, stream=getattr(args, "stream", False))
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
    if args.format == "md":
        from uvscope.analysis.output.markdown import report_markdown

        text = report_markdown(document) + "\n"
    elif args.format == "html":
        from uvscope.analysis.output.html_report import report_html

        text = report_html(document)
    else:
        text = json.dumps(document, indent=2) + "\n"
    if args.output:
        from uvscope.analysis.files import write_file

        write_file(args.output, text.encode())
    elif not args.ci:
        sys.stdout.write(text)


def _report(args: argparse.Namespace, image, python, key: str | None = None, warnings: Sequence[str] = ()) -> int:
    from uvscope.analysis.output.report import build_report

    from . import __version__

    rules = None
    if args.ci:
        from uvscope.analysis.output.ci import load_rules

        rules = load_rules(args.project, args.ci_config)  # before anything is written: a bad config is exit 2
    document = build_report(image, python, version=__version__)
    results = []
    if rules is not None:
        from uvscope.analysis.output.ci import evaluate

        results = evaluate(rules.rules, image, python)
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


def _summary(image, python) -> str:
    from uvscope.analysis.output.text import summary_lines

    return "\n".join(summary_lines(image, python))


def _run(args: argparse.Namespace) -> int:
    if args.command == "optimize":
        return _optimize(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "history":
        return _history(args)
    if args.command == "demo":
        from .demo import IMAGE_NAME, build_demo_image, cache_folder

        if args.rebuild:
            (cache_folder() / IMAGE_NAME).unlink(missing_ok=True)
        import time

        started = time.monotonic()

        def say(text: str) -> None:
            print(f"uvscope: {text} ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)

        args.image, args.source, args.platform, args.project = str(build_demo_image(progress=say)), "oci", None, None
    if args.command in ("open", "demo") and sys.stdout.isatty() and not getattr(args, "summary", False):
        from .app import make_app, run_session

        return _end_session(
            run_session(
                make_app(
                    args.image,
                    args.source,
                    args.platform,
                    args.project,
                    cache_dir=getattr(args, "cache_dir", None),
                    no_cache=getattr(args, "no_cache", False),
                    stream=getattr(args, "stream", False),
                )
            )
        )
    if args.command == "report":
        args.format = output_format(args.format, args.output, REPORT_FORMATS)
    if args.command == "report":
        done = _cached_report(args)
        if done is not None:
            return done
    image, python, key, warnings = _read_keyed(args, args.image, args.source, args.platform, args.project)
    if args.command == "report":
        return _report(args, image, python, key, warnings)
    sys.stdout.write(_summary(image, python) + "\n")
    return 0


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
    """Entry point of the `uvscope` console script."""
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
    args = build_parser().parse_args(arguments)
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        return _run(args)
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
