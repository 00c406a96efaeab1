"""Write the corpus of malformed and hostile image archives the reliability tests run uvscope on.

    uv run python tests/corpus/make_corpus.py

Deterministic: the same files on every run. Each file's name says what is
wrong with it; `expected.json` says whether uvscope must refuse it (exit 2,
one line) or read what it can (exit 0, warnings).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from tarbuilder import as_tar, config_for, docker_save_legacy, layer_tar, oci_files  # noqa: E402

HERE = Path(__file__).parent
SITE = "venv/lib/python3.11/site-packages"
GOOD = layer_tar(("dir", "app"), ("file", "app/a.txt", b"hello"))


def raw_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    item = tarfile.TarInfo(name)
    item.size, item.type, item.linkname = size, kind, link
    return item


def save(layers: list[bytes]) -> bytes:
    return docker_save_legacy(layers)


def corpus() -> dict[str, tuple[bytes, str]]:
    rng = random.Random(1234)
    cases: dict[str, tuple[bytes, str]] = {}
    good = save([GOOD])
    cases["empty.tar"] = (b"", "refuse")
    cases["random-bytes.tar"] = (bytes(rng.getrandbits(8) for _ in range(65536)), "refuse")
    cases["zeros.tar"] = (bytes(10240), "refuse")
    for cut in (100, 1500, len(good) // 3, len(good) // 2):
        cases[f"truncated-at-{cut}.tar"] = (good[:cut], "refuse")
    cases["manifest-not-json.tar"] = (as_tar({"manifest.json": b"{[nope"}), "refuse")
    cases["manifest-wrong-types.tar"] = (as_tar({"manifest.json": json.dumps([{"Config": 5, "Layers": "x"}]).encode()}), "refuse")
    cases["manifest-empty-list.tar"] = (as_tar({"manifest.json": b"[]"}), "refuse")
    config = config_for([GOOD])
    cases["config-not-json.tar"] = (
        as_tar({"c.json": b"\xff\xfe junk", "l/layer.tar": GOOD, "manifest.json": json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar"]}]).encode()}),
        "refuse",
    )
    cases["missing-layer.tar"] = (
        as_tar({"c.json": config, "manifest.json": json.dumps([{"Config": "c.json", "Layers": ["nowhere/layer.tar"]}]).encode()}),
        "refuse",
    )
    cases["layer-count-mismatch.tar"] = (
        as_tar({"c.json": config, "l/layer.tar": GOOD, "manifest.json": json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar", "l/layer.tar"]}]).encode()}),
        "refuse",
    )
    loop = raw_tar([(info("c.json", len(config)), config), (info("l/layer.tar", kind=tarfile.SYMTYPE, link="layer.tar"), None),
                    (info("manifest.json", 60), json.dumps([{"Config": "c.json", "Layers": ["l/layer.tar"]}]).encode().ljust(60))])
    cases["layer-symlink-loop.tar"] = (loop, "refuse")
    hostile = layer_tar(
        ("file", "../../../../etc/evil", b"x"),
        ("file", "/abs/file", b"y"),
        ("file", "ok/./../ok2", b"z"),
        ("file", "dup", b"1"),
        ("file", "dup", b"22"),
        ("whiteout", ".wh..wh..opq"),
        ("opaque", ""),
        ("file", "/".join(["deep"] * 1500) + "/f", b"d"),
        ("symlink", "loop", "loop"),
        ("hardlink", "hl", "missing-target"),
    )
    cases["hostile-names.tar"] = (save([hostile, layer_tar(("whiteout", "nothing-here"), ("whiteout", "dup"))]), "read")
    nonutf8 = raw_tar([(info("caf\udce9.txt".encode("utf-8", "surrogateescape").decode("latin-1"), 3), b"abc")])
    cases["non-utf8-names.tar"] = (save([nonutf8]), "read")
    first = info("a", 1).tobuf(tarfile.GNU_FORMAT) + b"a".ljust(512, b"\0")
    beyond = first + info("huge.bin", 10**12).tobuf(tarfile.GNU_FORMAT) + b"x" * 4096
    cases["declared-size-beyond-data.tar"] = (save([beyond]), "refuse")
    negative = bytearray(raw_tar([(info("neg", 0), b"")]))
    negative[124:136] = b"\xff" * 12  # base-256 size field, all ones: -1
    cases["negative-size.tar"] = (save([bytes(negative)]), "refuse")
    rows = "".join(f"pkg/f{i}.py,sha256=deadbeef,{i}\n" for i in range(1_000_000)).encode()
    bogus = b"\x00\x01,,\n" + b"no-commas-here\n" + b"a,b,c,d,e,f\n" + "é,,-5\n".encode() + rows
    record_layer = layer_tar(
        ("file", f"{SITE}/pkg-1.0.dist-info/RECORD", bogus),
        ("file", f"{SITE}/pkg-1.0.dist-info/METADATA", bytes(rng.getrandbits(8) for _ in range(4096))),
        ("file", f"{SITE}/pkg/__init__.py", b""),
        ("file", "app/uv.lock", b"version = 1\n[[package]\nname = broken"),
        ("file", "app/pyproject.toml", b"\xff\xfe[project"),
        ("file", "app/.venv/pyvenv.cfg", b"\x00" * 100),
    )
    cases["bogus-python-metadata.tar.gz"] = (gzip.compress(save([record_layer]), mtime=0), "read")
    files = oci_files([GOOD], compression="gzip")
    blob = next(name for name, data in files.items() if data.startswith(b"\x1f\x8b"))
    corrupt = dict(files)
    corrupt[blob] = files[blob][:20] + b"\x00garbage" * 10
    cases["corrupt-gzip-layer.oci.tar"] = (as_tar(corrupt), "refuse")
    files = oci_files([GOOD], compression="zstd")
    blob = next(name for name, data in files.items() if data.startswith(b"\x28\xb5\x2f\xfd"))
    corrupt = dict(files)
    corrupt[blob] = files[blob][:12] + b"\xff" * 40
    cases["corrupt-zstd-layer.oci.tar"] = (as_tar(corrupt), "refuse")
    index_loop = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    nested = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                                             "digest": "sha256:" + "0" * 64, "size": 1}]}).encode()
    index_loop["blobs/sha256/" + "0" * 64] = nested
    index_loop["index.json"] = nested
    cases["index-loop.oci.tar"] = (as_tar(index_loop), "refuse")
    traversal = dict(oci_files([GOOD]))
    manifest_name = next(n for n, d in traversal.items() if n.startswith("blobs/") and b'"layers": [' in d)
    manifest = json.loads(traversal[manifest_name])
    manifest["layers"][0]["digest"] = "sha256:../../../../etc/passwd"
    traversal[manifest_name] = json.dumps(manifest).encode()
    traversal["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                                             "digest": "sha256:" + hashlib.sha256(traversal[manifest_name]).hexdigest()}]}).encode()
    traversal["blobs/sha256/" + hashlib.sha256(traversal[manifest_name]).hexdigest()] = traversal[manifest_name]
    cases["digest-path-traversal.oci.tar"] = (as_tar(traversal), "refuse")
    return cases


def main() -> None:
    expected = {}
    for name, (data, outcome) in sorted(corpus().items()):
        (HERE / name).write_bytes(data)
        expected[name] = outcome
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {len(expected)} files to {HERE}")


if __name__ == "__main__":
    main()
