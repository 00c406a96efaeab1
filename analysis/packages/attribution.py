"""Map every byte under a Python environment to the distribution that installed it.

Environments are found from the paths themselves (any `site-packages` or
`dist-packages` folder: venvs, system interpreters, `/usr/local`, conda, user
site), never from fixed locations. Files are owned through `RECORD`
(`*.dist-info`) or `installed-files.txt` (`*.egg-info`), plus the
`__pycache__/*.pyc` of each owned `.py` (bytecode that `UV_COMPILE_BYTECODE`
writes is not in `RECORD`). Debian's egg-info without a file list falls back
to `top_level.txt`, flagged as estimated.

A file stored once under several paths (tar hard links, `uvscope.analysis.image.links`)
counts its bytes once, for the distribution that installed one of its paths,
whichever path the tar wrote first: uv installing with hard links from a cache
left in the same layer writes the cache's path first, yet the bytes are the
installed file's. Its other paths count 0, so every byte is counted once and
the distributions' bytes never exceed the image's. Without an owner, a path
under site-packages takes the bytes before any other; then the first path.
"""

from __future__ import annotations

import bisect
import json
import posixpath
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import HeaderParser

from packaging.utils import canonicalize_name

from ..image.links import counted_sizes
from ..image.model import EntryKind, Image
from .record import record_hashes, record_rows
from .shipping import shipped_per_layer

SITE_DIRS = ("/site-packages/", "/dist-packages/")


@dataclass(frozen=True)
class Distribution:
    """One installed distribution and the bytes it owns."""

    name: str
    """Canonical name (PEP 503)."""
    version: str
    environment: str
    """The site-packages folder it is installed in (`/app/.venv/lib/python3.11/site-packages`)."""
    metadata_dir: str
    installer: str
    requested: bool
    editable: bool
    direct_url: str
    estimated: bool
    """Files guessed from `top_level.txt` (Debian egg-info without a file list)."""
    bytes: int
    files: int
    layer_bytes: dict[int, int]
    """Bytes of this distribution's files shipped in each layer, hidden copies included."""
    reshipped_bytes: int
    """Bytes a later layer wrote again over files of this distribution already in a lower layer."""
    reshipped_content: str
    """`identical` or `changed` (by RECORD hashes) when `reshipped_bytes` > 0, else ``."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.environment, self.name)


@dataclass(frozen=True)
class Attribution:
    """Who owns the bytes under the image's Python environments."""

    distributions: tuple[Distribution, ...]
    environments: tuple[str, ...]
    site_packages_bytes: int
    attributed_bytes: int
    unattributed: tuple[tuple[str, int], ...]
    """Visible files under a site-packages folder that no distribution owns, largest first."""
    owners: dict[str, tuple[str, str]] = field(repr=False)
    """Visible path -> `Distribution.key` (environment, name) of its owner."""


def site_dir_of(path: str) -> str | None:
    """The `.../site-packages` folder `path` lies under, if any (paths without leading slash)."""
    probe = "/" + path
    best = -1
    marker_len = 0
    for marker in SITE_DIRS:
        index = probe.find(marker)
        if index != -1 and (best == -1 or index < best):
            best, marker_len = index, len(marker)
    if best == -1:
        return None
    return probe[1 : best + marker_len - 1]


class _SiteDirs:
    """`site_dir_of`, remembered per folder: every file of a folder lies under the same site-packages.

    A marker (`/site-packages/`) ends with a slash, so it lies within the path's
    folder part: the answer depends on the folder alone, and an image has ~10x
    fewer folders than files.
    """

    def __init__(self) -> None:
        self._by_folder: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        folder = path.rpartition("/")[0]
        try:
            return self._by_folder[folder]
        except KeyError:
            site = self._by_folder[folder] = site_dir_of(path)
            return site


def _headers(data: bytes) -> dict[str, str]:
    text = data.decode("utf-8", "replace")
    message = HeaderParser().parsestr(text, headersonly=True)
    return {key: str(value) for key, value in message.items() if key in ("Name", "Version")}


def _source_of_pyc(path: str) -> str | None:
    """`pkg/__pycache__/mod.cpython-311.pyc` -> `pkg/mod.py`."""
    folder, name = posixpath.split(path)
    if not name.endswith(".pyc") or posixpath.basename(folder) != "__pycache__":
        return None
    return posixpath.join(posixpath.dirname(folder), name.split(".", 1)[0] + ".py")


@dataclass
class _Found:
    name: str
    version: str
    metadata_dir: str
    site: str
    estimated: bool = False
    installer: str = ""
    requested: bool = False
    editable: bool = False
    direct_url: str = ""


def _metadata(image: Image):
    """Visible metadata files: path -> bytes, from the layer that provides each."""
    for path, visible in image.files.items():
        data = image.layers[visible.layer].contents.metadata.get(path)
        if data is not None:
            yield path, data


class _SortedPaths:
    """Visible paths in sorted order, for fast "everything under this folder" queries."""

    def __init__(self, paths) -> None:
        self._paths = sorted(paths)

    def under(self, folder: str, *, recursive: bool = True) -> list[str]:
        prefix = folder + "/"
        start = bisect.bisect_left(self._paths, prefix)
        end = bisect.bisect_left(self._paths, folder + "0")  # "0" sorts right after "/"
        found = self._paths[start:end]
        return found if recursive else [p for p in found if "/" not in p[len(prefix) :]]


def _find_distributions(image: Image) -> tuple[dict[tuple[str, str], _Found], dict[str, tuple[str, str]]]:
    meta = dict(_metadata(image))
    site_of = _SiteDirs()
    site_index = _SortedPaths(path for path in image.files if site_of(path) is not None)
    found: dict[tuple[str, str], _Found] = {}
    owners: dict[str, tuple[str, str]] = {}
    folders: dict[str, dict[str, bytes]] = defaultdict(dict)
    for path, data in meta.items():
        folder, name = posixpath.split(path)
        if folder.endswith((".dist-info", ".egg-info")):
            folders[folder][name] = data
        elif name.endswith(".egg-info"):  # single-file egg-info is a PKG-INFO
            folders[path]["PKG-INFO"] = data
    for folder, files in sorted(folders.items()):
        site = posixpath.dirname(folder)
        if site_dir_of(folder + "/x") != site:
            continue
        headers = _headers(files.get("METADATA") or files.get("PKG-INFO") or b"")
        stem = posixpath.basename(folder).rsplit(".", 1)[0]
        name = headers.get("Name") or stem.split("-")[0]
        version = headers.get("Version") or (stem.split("-")[1] if "-" in stem else "")
        item = _Found(str(canonicalize_name(name)), version, folder, site)
        item.installer = files.get("INSTALLER", b"").decode("utf-8", "replace").strip()
        item.requested = "REQUESTED" in files or folder + "/REQUESTED" in image.files
        if "direct_url.json" in files:
            try:
                direct = json.loads(files["direct_url.json"])
                item.direct_url = str(direct.get("url", ""))
                item.editable = bool((direct.get("dir_info") or {}).get("editable"))
            except (ValueError, AttributeError):
                pass
        key = (site, item.name)
        paths: list[str] = []
        if "RECORD" in files:
            paths = [path for path, _ in record_rows(files["RECORD"], site)]
        elif "installed-files.txt" in files:
            listing = files["installed-files.txt"].decode("utf-8", "replace").splitlines()
            paths = [posixpath.normpath(posixpath.join(folder, line.strip())) for line in listing if line.strip()]
        else:
            item.estimated = True
            tops = files.get("top_level.txt", b"").decode("utf-8", "replace").split() or [name.replace("-", "_")]
            for top in tops:
                prefix = posixpath.join(site, top)
                paths += [prefix + ".py", *site_index.under(prefix)]
                paths += [p for p in site_index.under(site, recursive=False) if p.startswith(prefix + ".") and p.endswith(".so")]
        if not item.installer and "/dist-packages/" in "/" + folder + "/":
            item.installer = "debian"
        # The metadata folder itself belongs to the distribution, listed or not.
        paths += [folder, *site_index.under(folder)]
        found[key] = item
        for path in paths:
            # Keyed by the image's own path string when the path is visible: the one parsed from
            # RECORD is then freed (a string per installed file is most of this map's memory).
            visible = image.files.get(path)
            owners.setdefault(visible.entry.path if visible is not None else path, key)
    return found, owners


def attribute(image: Image) -> Attribution:
    """Attribute every file under the image's Python environments to a distribution."""
    found, owners = _find_distributions(image)
    owner_of = _owner_lookup(owners)
    counted = counted_sizes(image.linked, lambda path: 0 if owner_of(path) is not None else 1 if site_dir_of(path) is not None else 2)
    visible = _visible_files(image, owner_of, counted)
    layer_bytes, reshipped = shipped_per_layer(image, owner_of)
    distributions = [
        _distribution(image, item, visible.owned_bytes[key], visible.owned_files[key], layer_bytes[key], reshipped[key])
        for key, item in found.items()
    ]
    distributions.sort(key=lambda d: d.bytes, reverse=True)
    visible.unattributed.sort(key=lambda item: item[1], reverse=True)
    return Attribution(
        distributions=tuple(distributions),
        environments=tuple(sorted("/" + site for site in visible.environments)),
        site_packages_bytes=visible.site_bytes,
        attributed_bytes=visible.attributed_bytes,
        unattributed=tuple(("/" + path, size) for path, size in visible.unattributed),
        owners=visible.owners,
    )


def _owner_lookup(owners: dict[str, tuple[str, str]]) -> Callable[[str], tuple[str, str] | None]:
    """A path's owner: its own, or for bytecode its source's."""
    resolved: dict[str, tuple[str, str] | None] = {}

    def owner_of(path: str) -> tuple[str, str] | None:
        key = owners.get(path)
        if key is not None or not path.endswith(".pyc"):
            return key
        # Bytecode not listed by RECORD belongs to its source's owner; remembered, since the visible
        # files and then every layer's entries ask about the same paths (only these: a map of every path costs memory).
        try:
            return resolved[path]
        except KeyError:
            pass
        source = _source_of_pyc(path)
        if source is not None:
            key = owners.get(source)
        resolved[path] = key
        return key

    return owner_of


@dataclass
class _Visible:
    """What the final filesystem holds under the Python environments, and who owns it."""

    owned_bytes: dict[tuple[str, str], int]
    """Per `_find_distributions` key (site, name)."""
    owned_files: dict[tuple[str, str], int]
    environments: set[str]
    site_bytes: int
    attributed_bytes: int
    unattributed: list[tuple[str, int]]
    owners: dict[str, tuple[str, str]]
    """Visible path -> `Distribution.key` of its owner."""


def _visible_files(image: Image, owner_of: Callable[[str], tuple[str, str] | None], counted: dict[str, int]) -> _Visible:
    """The final filesystem's bytes by owner; `counted` gives the bytes of hard-linked paths (`counted_sizes`)."""
    # locals in the loop: it runs once per file of the final filesystem
    owned_bytes: dict[tuple[str, str], int] = defaultdict(int)
    owned_files: dict[tuple[str, str], int] = defaultdict(int)
    environments: set[str] = set()
    site_bytes = 0
    attributed_bytes = 0
    unattributed: list[tuple[str, int]] = []
    owners: dict[str, tuple[str, str]] = {}
    owner_keys: dict[tuple[str, str], tuple[str, str]] = {}
    """One `Distribution.key` tuple per distribution, shared by all its files (not one tuple and string per file)."""
    site_of = _SiteDirs()
    for path, visible in image.files.items():
        entry = visible.entry
        site = site_of(path)
        if site is not None:
            environments.add(site)
        if entry.kind is EntryKind.DIR:
            continue
        key = owner_of(path)
        size = counted.get(path, entry.size) if counted else entry.size
        if site is not None:
            site_bytes += size
            if key is not None:
                attributed_bytes += size
        if key is not None:
            owner = owner_keys.get(key)
            if owner is None:
                owner = owner_keys[key] = ("/" + key[0], key[1])  # the same key as `Distribution.key`
            owners[path] = owner
            owned_bytes[key] += size
            owned_files[key] += 1
        elif site is not None:
            unattributed.append((path, size))
    return _Visible(owned_bytes, owned_files, environments, site_bytes, attributed_bytes, unattributed, owners)


def _distribution(
    image: Image, item: _Found, owned_bytes: int, owned_files: int, layer_bytes: dict[int, int], reshipped: int
) -> Distribution:
    return Distribution(
        name=item.name,
        version=item.version,
        environment="/" + item.site,
        metadata_dir="/" + item.metadata_dir,
        installer=item.installer,
        requested=item.requested,
        editable=item.editable,
        direct_url=item.direct_url,
        estimated=item.estimated,
        bytes=owned_bytes,
        files=owned_files,
        layer_bytes=dict(sorted(layer_bytes.items())),
        reshipped_bytes=reshipped,
        reshipped_content=_compare_records(image, item) if reshipped else "",
    )


def _compare_records(image: Image, item: _Found) -> str:
    """`identical` when every layer that ships this RECORD lists the same hashes, else `changed`.

    Bytecode rows are left out: pip records `.pyc` hashes, and recompiling
    changes them although the sources are identical.
    """
    record = item.metadata_dir + "/RECORD"
    versions = {
        frozenset(row for row in record_hashes(layer.contents.metadata[record], item.site).items() if not row[0].endswith(".pyc"))
        for layer in image.layers
        if record in layer.contents.metadata
    }
    return "identical" if len(versions) <= 1 else "changed"
