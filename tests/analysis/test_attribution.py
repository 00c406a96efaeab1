"""Attribution rules on synthetic images: shared namespace folders, scripts, egg-info, re-shipping, dev groups, hard links."""

from __future__ import annotations

import io

from tarbuilder import layer_tar

from uvscope.analysis.image.caches import cache_folders
from uvscope.analysis.image.model import ImageMeta
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.output.findings import find_problems
from uvscope.analysis.packages.attribution import attribute, site_dir_of
from uvscope.analysis.packages.lockmatch import match_lock
from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.read.layer_reader import read_layer

SITE = "venv/lib/python3.11/site-packages"


def _image(*layers: bytes):
    contents = [read_layer(io.BytesIO(layer)) for layer in layers]
    meta = ImageMeta("synthetic", "sha256:0", tuple(f"sha256:{i}" for i in range(len(layers))), ("",) * len(layers), {})
    return build_image(meta, contents)


def _dist(name: str, version: str, files: dict[str, bytes], installer: bytes = b"uv") -> list[tuple]:
    info = f"{SITE}/{name}-{version}.dist-info"
    record = "".join(f"{path},sha256=h{len(data)},{len(data)}\n" for path, data in files.items())
    record += f"{name}-{version}.dist-info/METADATA,,\n{name}-{version}.dist-info/RECORD,,\n"
    items = [("file", f"{SITE}/{path}".replace(f"{SITE}/../../../", "venv/"), data) for path, data in files.items()]
    items += [
        ("file", f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()),
        ("file", f"{info}/INSTALLER", installer + b"\n"),
        ("file", f"{info}/RECORD", record.encode()),
    ]
    return items


def test_shared_namespace_folder_is_split_file_by_file_and_bytecode_follows_sources():
    cublas = _dist("nvidia-cublas-cu12", "12.4", {"nvidia/cublas/lib/libcublas.so": b"c" * 5000, "nvidia/cublas/__init__.py": b""})
    cudnn = _dist("nvidia-cudnn-cu12", "9.1", {"nvidia/cudnn/lib/libcudnn.so": b"d" * 7000, "nvidia/cudnn/__init__.py": b"x"})
    pyc = [("file", f"{SITE}/nvidia/cudnn/__pycache__/__init__.cpython-311.pyc", b"p" * 30)]
    image = _image(layer_tar(*cublas, *cudnn, *pyc, ("file", f"{SITE}/stray.bin", b"s" * 9)))
    result = attribute(image)
    by_name = {d.name: d for d in result.distributions}
    metadata = {
        name: sum(len(i[2]) for i in items if ".dist-info/" in i[1])
        for name, items in (("nvidia-cublas-cu12", cublas), ("nvidia-cudnn-cu12", cudnn))
    }
    assert by_name["nvidia-cublas-cu12"].bytes == 5000 + metadata["nvidia-cublas-cu12"]
    assert by_name["nvidia-cudnn-cu12"].bytes == 7000 + 1 + 30 + metadata["nvidia-cudnn-cu12"]
    assert result.unattributed == ((f"/{SITE}/stray.bin", 9),)
    assert result.site_packages_bytes == result.attributed_bytes + 9


def test_console_scripts_outside_site_packages_belong_to_their_distribution():
    image = _image(layer_tar(*_dist("black", "24.1", {"black/__init__.py": b"b" * 10, "../../../bin/black": b"#!py\n"})))
    owners = attribute(image).owners
    assert owners["venv/bin/black"][1] == "black"


def test_egg_info_with_installed_files():
    egg = f"{SITE}/legacy-1.0-py3.11.egg-info"
    image = _image(
        layer_tar(
            ("file", f"{egg}/PKG-INFO", b"Metadata-Version: 1.0\nName: Legacy\nVersion: 1.0\n"),
            ("file", f"{egg}/installed-files.txt", b"../legacy/__init__.py\n../legacy/core.py\nPKG-INFO\n"),
            ("file", f"{SITE}/legacy/__init__.py", b"i" * 11),
            ("file", f"{SITE}/legacy/core.py", b"c" * 22),
        )
    )
    (legacy,) = attribute(image).distributions
    assert (legacy.name, legacy.version, legacy.estimated) == ("legacy", "1.0", False)
    assert legacy.bytes == 11 + 22 + len(b"Metadata-Version: 1.0\nName: Legacy\nVersion: 1.0\n") + len(
        b"../legacy/__init__.py\n../legacy/core.py\nPKG-INFO\n"
    )


def test_reshipped_bytes_identical_or_changed_by_record_hashes():
    same = _dist("six", "1.17", {"six.py": b"x" * 100})
    changed = _dist("six", "1.17", {"six.py": b"y" * 120})
    identical = attribute(_image(layer_tar(*same), layer_tar(*same))).distributions[0]
    assert identical.reshipped_bytes == identical.layer_bytes[1] and identical.reshipped_content == "identical"
    different = attribute(_image(layer_tar(*same), layer_tar(*changed))).distributions[0]
    assert different.reshipped_content == "changed"


LOCK = """
version = 1
[[package]]
name = "app"
version = "1.0"
source = { editable = "." }
dependencies = [{ name = "six" }]
[package.dev-dependencies]
dev = [{ name = "pytest" }]
[[package]]
name = "six"
version = "1.16"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "pytest"
version = "8.0"
source = { registry = "https://pypi.org/simple" }
"""


def test_lock_status_and_dev_packages_present():
    image = _image(
        layer_tar(
            *_dist("six", "1.17", {"six.py": b"x"}),
            *_dist("pytest", "8.0", {"pytest/__init__.py": b"p"}),
            *_dist("rich", "13", {"rich/__init__.py": b"r"}),
        )
    )
    match = match_lock(attribute(image), parse_lock(LOCK, "uv.lock"))
    statuses = {key[1]: status.status for key, status in match.statuses.items()}
    assert statuses == {"six": "version-mismatch", "pytest": "match", "rich": "absent"}
    assert match.dev_present == ("pytest",)
    assert match.missing == {"app": "the project itself is not installed (--no-install-project)"}


CACHE = "root/.cache/uv/archive-v0/abc"


def _linked_from_cache(items: list[tuple], *names: str) -> tuple[list[tuple], list[tuple]]:
    """uv's `UV_LINK_MODE=hardlink` install with its cache in the layer: each named installed file is written
    first at its cache path (the bytes), then as a hard link in site-packages. Returns (cache files, items)."""
    cached, linked = [], []
    for item in items:
        name = item[1].removeprefix(SITE + "/")
        if item[0] == "file" and name in names:
            cached.append(("file", f"{CACHE}/{name}", item[2]))
            linked.append(("hardlink", item[1], f"{CACHE}/{name}"))
        else:
            linked.append(item)
    return cached, linked


def _bytes(items: list[tuple]) -> int:
    return sum(len(item[2]) for item in items if item[0] == "file")


def test_a_site_packages_file_hard_linked_to_uvs_cache_counts_for_its_distribution():
    """A file uv hard-linked from its cache (`UV_LINK_MODE` hardlink, cache in the image) holds its bytes once in the
    layer; they are the distribution's, whichever of the two paths the tar wrote first, and the cache's path counts 0
    (pydantic-ai-visual, tests/realworld: 1.1 MB of 338 MB in site-packages were attributed before)."""
    items = _dist("numpy", "2.0", {"numpy/core.so": b"n" * 6000, "numpy/__init__.py": b"i" * 10})
    cached, linked = _linked_from_cache(items, "numpy/core.so")
    image = _image(layer_tar(*cached, *linked))
    result = attribute(image)
    (numpy,) = result.distributions
    assert numpy.bytes == _bytes(items) and numpy.layer_bytes == {0: _bytes(items)}
    assert numpy.files == len(items)
    assert result.site_packages_bytes == result.attributed_bytes == _bytes(items)
    assert f"{CACHE}/numpy/core.so" not in result.owners
    # The layer stores the 6000 bytes once; every byte of it is counted once, for numpy.
    assert image.layers[0].size_bytes == _bytes(items)


def test_a_file_linked_between_two_distributions_counts_for_the_path_the_tar_wrote_first():
    """Both paths installed files (of two distributions): the bytes stay with the first one's owner, the other counts 0,
    and a site-packages file no distribution lists that a distribution's file links to gives it its bytes."""
    first = _dist("aaa", "1", {"aaa/lib.so": b"a" * 3000})
    second = _dist("bbb", "1", {"bbb/lib.so": b"a" * 3000})
    second = [("hardlink", item[1], f"{SITE}/aaa/lib.so") if item[1].endswith("bbb/lib.so") else item for item in second]
    stray = [("file", f"{SITE}/shared/blob.bin", b"s" * 700)]
    third = _dist("ccc", "1", {"ccc/blob.bin": b"s" * 700})
    third = [("hardlink", item[1], f"{SITE}/shared/blob.bin") if item[1].endswith("ccc/blob.bin") else item for item in third]
    layer = layer_tar(*first, *second, *stray, *third)
    result = attribute(_image(layer))
    by_name = {d.name: d for d in result.distributions}
    assert by_name["aaa"].bytes == _bytes(first) and by_name["aaa"].layer_bytes == {0: _bytes(first)}
    assert by_name["bbb"].bytes == _bytes(second) and by_name["bbb"].layer_bytes == {0: _bytes(second)}
    assert by_name["ccc"].bytes == _bytes(third) + 700 and by_name["ccc"].layer_bytes == {0: _bytes(third) + 700}
    assert result.unattributed == ((f"/{SITE}/shared/blob.bin", 0),)
    assert result.site_packages_bytes == result.attributed_bytes == read_layer(io.BytesIO(layer)).size_bytes


def test_totals_stay_exact_with_hard_links_the_cache_and_other_folders():
    """Every byte of the layer is counted once: the distributions', the unowned site-packages files', the cache's
    (only what the cache alone holds) and the rest's sum to the layer's bytes; links outside site-packages keep their own."""
    items = _dist("torch", "2.5", {"torch/lib/libtorch.so": b"t" * 9000, "torch/__init__.py": b"p" * 50, "torch/x.py": b"x" * 5})
    cached, linked = _linked_from_cache(items, "torch/lib/libtorch.so", "torch/x.py")
    only_cache = [("file", f"{CACHE}/other/wheel.bin", b"w" * 400)]
    elsewhere = [("file", "app/data.bin", b"d" * 80), ("hardlink", "app/data-again.bin", "app/data.bin")]
    image = _image(layer_tar(*cached, *only_cache, *elsewhere, *linked, ("file", f"{SITE}/stray.txt", b"s" * 3)))
    result = attribute(image)
    caches = cache_folders(image)
    assert [(item.label, item.bytes) for item in caches] == [("/root/.cache/uv", 400)]
    rest = sum(v.entry.size for p, v in image.files.items() if site_dir_of(p) is None and not p.startswith("root/.cache/"))
    assert rest == 80
    assert sum(d.bytes for d in result.distributions) == result.attributed_bytes == _bytes(items)
    assert result.site_packages_bytes == result.attributed_bytes + 3
    assert result.site_packages_bytes + caches[0].bytes + rest == image.layers[0].size_bytes
    assert sum(sum(d.layer_bytes.values()) for d in result.distributions) == result.attributed_bytes


def test_the_caches_waste_is_only_the_bytes_no_installed_file_shares():
    """The cache-in-image finding and the Waste view's caches count what keeping the cache out would save: a file
    hard-linked into site-packages stays in the image without the cache, so it is not the cache's waste."""
    items = _dist("numpy", "2.0", {"numpy/core.so": b"n" * 6000})
    cached, linked = _linked_from_cache(items, "numpy/core.so")
    image = _image(layer_tar(*cached, ("file", f"{CACHE}/sdist.tar.gz", b"z" * 250), *linked))
    assert [(item.label, item.bytes) for item in cache_folders(image)] == [("/root/.cache/uv", 250)]
    (finding,) = [f for f in find_problems(image, None) if f.id == "cache-in-image"]
    assert finding.bytes == 250
    # Without links the whole cache is waste, as before.
    plain = _image(layer_tar(*cached, ("file", f"{CACHE}/sdist.tar.gz", b"z" * 250), *items))
    assert [item.bytes for item in cache_folders(plain)] == [6250]


def test_a_link_whose_target_a_later_layer_deletes_still_holds_the_bytes():
    """`rm -rf ~/.cache/uv` in a later RUN whites the cache out; the site-packages link of the lower layer still shows
    the file, so its bytes stay numpy's and are not reclaimable; the cache-only file is."""
    items = _dist("numpy", "2.0", {"numpy/core.so": b"n" * 6000})
    cached, linked = _linked_from_cache(items, "numpy/core.so")
    image = _image(layer_tar(*cached, ("file", f"{CACHE}/sdist.tar.gz", b"z" * 250), *linked), layer_tar(("whiteout", "root/.cache")))
    (numpy,) = attribute(image).distributions
    assert numpy.bytes == _bytes(items) and numpy.layer_bytes == {0: _bytes(items)}
    assert image.reclaimable_bytes == 250 and [copy.path for copy in image.hidden] == [f"{CACHE}/sdist.tar.gz"]
    assert cache_folders(image) == []
    # Overwriting the link too hides the file: then its bytes are reclaimable.
    overwritten = _image(layer_tar(*cached, *linked), layer_tar(("whiteout", "root/.cache"), ("file", f"{SITE}/numpy/core.so", b"m" * 10)))
    assert overwritten.reclaimable_bytes == 6000
