"""`uvscope history`: churn across the tags of a repository, and across the history of uv.lock."""

from __future__ import annotations

import argparse
import os
import sys

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.output.formats import choose_format, render

from . import shared
from .shared import emit, layer_cache, read_image


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
    cache = layer_cache(args)
    return cache.layer_size if cache is not None else None


def history_command(args: argparse.Namespace) -> int:
    """`uvscope history`: churn across a repository's tags or images (a session on a terminal), and across uv.lock's git history."""
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
        from uvscope.app.app import make_history_app, run_session

        return shared.end_session(run_session(make_history_app(load_metas, _layer_size(args), notes)))
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
            image, python = read_image(args, args.image, project=args.lock_history)
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
    emit(render("history", fmt, document), args.output)
    return 0
