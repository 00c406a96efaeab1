"""The stacker against the plainest stacking there is, on many small random images.

`build_image` removes folders in one pass per layer and derives a layer's added paths from its
entries instead of keeping them; this reference does neither (one removal at a time, every change
kept), so any difference in what is visible, added, modified, removed or hidden is a bug.
"""

from __future__ import annotations

import random

from uvscope.analysis.image.model import Change, EntryKind, FileEntry, ImageMeta, LayerContents
from uvscope.analysis.image.stack import build_image

NAMES = ("a", "b", "c")


def _reference(layers: list[LayerContents]):
    files: dict[str, tuple[FileEntry, int]] = {}
    hidden: list[tuple[str, int, int, int, str]] = []
    history = []

    def below(folder: str) -> list[str]:
        return [path for path in files if folder == "" or path.startswith(folder + "/")]

    def take(paths: list[str], index: int, reason: str) -> int:
        total = 0
        for path in paths:
            entry, layer = files.pop(path)
            total += entry.size
            if entry.size:
                hidden.append((path, entry.size, layer, index, reason))
        return total

    for index, contents in enumerate(layers):
        added, modified, removed = [], [], []
        for folder in contents.opaque_dirs:
            lost = below(folder)
            if lost:
                removed.append(Change(folder + "/", take(lost, index, "deleted"), True))
        for path in contents.whiteouts:
            lost = [path] * (path in files) + below(path)
            if lost:
                folder = len(lost) > 1 or files[lost[0]][0].kind is EntryKind.DIR
                removed.append(Change(path, take(lost, index, "deleted"), folder))
        for entry in contents.entries:
            previous = files.get(entry.path)
            is_folder = entry.kind is EntryKind.DIR
            if previous is None:
                added.append(Change(entry.path, entry.size, is_folder))
            elif previous[0].kind is EntryKind.DIR and is_folder:
                if previous[0].mode != entry.mode:
                    modified.append(Change(entry.path, 0, True))
            else:
                if previous[0].kind is EntryKind.DIR:
                    take(below(entry.path), index, "overwritten")
                take([entry.path], index, "overwritten")
                modified.append(Change(entry.path, entry.size, is_folder))
            files[entry.path] = (entry, index)
        history.append((added, modified, removed))
    return files, hidden, history


def _random_layer(rng: random.Random) -> LayerContents:
    paths = sorted({"/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 8))})
    entries = []
    for path in paths:
        if any(other.startswith(path + "/") for other in paths):
            entries.append(FileEntry(path, EntryKind.DIR, 0, rng.choice((0o755, 0o700))))  # a parent of this layer's paths
        elif rng.random() < 0.3:
            entries.append(FileEntry(path, EntryKind.DIR, 0, rng.choice((0o755, 0o700))))
        else:
            entries.append(FileEntry(path, EntryKind.FILE, rng.randint(0, 3) * 100))
    rng.shuffle(entries)
    if rng.random() < 0.3:  # an odd tar: a path written twice, last as a file (a folder it wrote first loses its contents)
        again = rng.choice(entries).path
        entries.append(FileEntry(again, EntryKind.FILE, rng.randint(1, 3) * 100))
    whiteouts = tuple(rng.sample(["a", "a/b", "b", "b/c", "c/a/b"], rng.randint(0, 2)))
    opaque = tuple(rng.sample(["", "a", "b/a", "c"], rng.randint(0, 1) if rng.random() < 0.4 else 0))
    return LayerContents(tuple(entries), whiteouts, opaque)


def test_the_stacker_matches_one_removal_at_a_time_on_random_images():
    rng = random.Random(20261207)
    for _ in range(2000):
        layers = [_random_layer(rng) for _ in range(rng.randint(1, 5))]
        meta = ImageMeta("random", "sha256:0", tuple(f"sha256:{i}" for i in range(len(layers))), ("RUN",) * len(layers), {})
        image = build_image(meta, layers)
        files, hidden, history = _reference(layers)
        assert {path: (v.entry, v.layer) for path, v in image.files.items()} == files
        assert sorted((c.path, c.size, c.layer, c.hidden_by, c.reason) for c in image.hidden) == sorted(hidden)
        for layer, (added, modified, removed) in zip(image.layers, history):
            assert list(layer.added) == added
            assert list(layer.modified) == modified
            assert list(layer.removed) == removed
