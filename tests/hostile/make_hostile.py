"""Images whose every text is hostile: what an attacker can put in an image someone else opens.

`hostile_layers()` holds a Python environment whose names, versions, paths and commands carry
terminal escapes (a title change, clear screen, OSC 8 hyperlinks, OSC 52 clipboard writes,
8-bit CSI), bidi overrides, Textual/Rich markup (`[@click=app.quit]`, `[link=…]`), HTML and
Markdown (`<img onerror>`, `|`, newlines, backticks) and bytes that are not UTF-8. The config
adds hostile labels, env, platform and creation time. `write_variants(folder)` writes it as a
docker-save archive, an OCI layout folder and an OCI layout tar (and a second tag of it, for
`diff`); `dockerfile()` is the same text for an engine build. `limit_images(folder)` writes
the images that test uvscope's bounds (long, deep and many names, huge metadata, a gzip bomb).

Nothing here is committed as binary: the tests call these functions into a temporary folder.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from tarbuilder import as_tar, docker_save_legacy, layer_tar  # noqa: E402

from uvscope.analysis.read.oci_writer import (  # noqa: E402
    MANIFEST_TYPE,
    OCI_LAYOUT,
    blob_files,
    descriptor,
    image_index,
    image_manifest,
)
from uvscope.analysis.read.oci_writer import sha256_digest as digest  # noqa: E402

TITLE = "\x1b]0;pwned\x07"
"""Sets the terminal's title to `pwned` (OSC 0, ended by BEL)."""
CLEAR = "\x1b[2J\x1b[H"
LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
CSI8 = "\x9b31m"
BIDI = "\u202egnp.exe"
MARKUP = "[@click=app.quit]q[/][link=https://evil.example/]x[/link][b]"
HTML = '<img src=x onerror=alert(2)><script>alert(3)</script>'
MARKDOWN = "a|b\nc`d`[e](https://evil.example/)**f**"
NOT_UTF8 = "caf\udce9\udcff"
"""The bytes `caf\\xe9\\xff` of a name, as Python's surrogateescape holds them."""

ESCAPES = (TITLE, CLEAR, LINK, CLIPBOARD, CSI8, BIDI)
"""Each of these must reach a terminal only as visible text."""

COMMAND = f"RUN {TITLE}{CLEAR} uv sync {LINK} {CLIPBOARD} {CSI8} {MARKUP} {HTML} {BIDI}"
SITE = "app/.venv/lib/python3.11/site-packages"
PACKAGE_NAME = f"evil{TITLE}pkg"
PACKAGE_VERSION = f"1.0{HTML}{TITLE}"
MARKUP_PACKAGE = "markup-pkg"
MARKUP_VERSION = f"2.0{MARKUP}"
MD_PACKAGE = "md-pkg"
MD_VERSION = f"3.0{MARKDOWN}"

FILE_NAMES = (
    f"app/{TITLE}{CLEAR}title.txt",
    f"app/{LINK}.txt",
    f"app/{MARKUP}.txt",
    f"app/{HTML}.txt",
    f"app/{MARKDOWN.replace(chr(10), ' ')}.txt",
    "app/new\nline.txt",
    f"app/{NOT_UTF8}.txt",
    f"app/{BIDI}",
)


def _metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {TITLE}{CLEAR}\n\n".encode("utf-8", "surrogateescape")


def _dist(name: str, version: str, module: str, payload: bytes) -> list[tuple]:
    info = f"{SITE}/{module}-{version.split('<')[0].split('[')[0].split('|')[0]}.dist-info"
    record = f"{SITE}/{module}/__init__.py,,{len(payload)}\n{info}/METADATA,,\n{info}/RECORD,,\n"
    return [
        ("file", f"{SITE}/{module}/__init__.py", payload),
        ("file", f"{info}/METADATA", _metadata(name, version)),
        ("file", f"{info}/RECORD", record.encode()),
        ("file", f"{info}/INSTALLER", f"uv{TITLE}\n".encode()),
    ]


UV_LOCK = f"""version = 1
requires-python = ">=3.11"

[[package]]
name = "hostile-app"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [{{ name = "markup-pkg" }}, {{ name = "md-pkg" }}]

[[package]]
name = "markup-pkg"
version = {json.dumps(MARKUP_VERSION)}
source = {{ registry = "https://pypi.org/simple" }}

[[package]]
name = "md-pkg"
version = {json.dumps(MD_VERSION)}
source = {{ registry = "https://pypi.org/simple" }}
""".encode()


def hostile_layers(variant: int = 0) -> list[bytes]:
    """Base, environment and app layers; `variant` 1 changes the app layer (for a diff)."""
    base = layer_tar(("file", "usr/bin/python3.11", b"\x7fELF" + b"\0" * 2000), ("file", "etc/os-release", b"ID=debian\n"))
    venv = layer_tar(
        ("file", "app/.venv/pyvenv.cfg", b"home = /usr/bin\nversion_info = 3.11.2\n"),
        *_dist(PACKAGE_NAME, PACKAGE_VERSION, "evil", b"x" * 30_000),
        *_dist(MARKUP_PACKAGE, MARKUP_VERSION, "markup_pkg", b"y" * 20_000),
        *_dist(MD_PACKAGE, MD_VERSION, "md_pkg", b"z" * 10_000),
    )
    app = layer_tar(
        ("file", "app/uv.lock", UV_LOCK),
        ("file", "app/pyproject.toml", b'[project]\nname = "hostile-app"\nversion = "0.1.0"\ndependencies = ["markup-pkg", "md-pkg"]\n'),
        *(("file", name, b"hostile" * (index + 1) * (variant + 1)) for index, name in enumerate(FILE_NAMES)),
        ("symlink", f"app/link{TITLE}", f"../{CLEAR}target"),
        ("whiteout", f"{SITE}/evil/{TITLE}gone"),
    )
    return [base, venv, app]


COMMANDS = [f"/bin/sh -c #(nop) ADD file:{TITLE} in / ", COMMAND, f"COPY {HTML} {MARKDOWN} /app # buildkit"]


def _config(layers: list[bytes], loadable: bool = False) -> bytes:
    """The hostile config; `loadable` keeps `created` a valid time, which `docker load` insists on."""
    history = [{"created_by": f"LABEL evil={TITLE}", "empty_layer": True}] + [{"created_by": c, "created": "2026-01-01T00:00:00Z"} for c in COMMANDS]
    config = {
        "architecture": f"amd64{TITLE}",
        "os": "linux",
        "variant": CLEAR,
        "created": "2026-01-01T00:00:00Z" if loadable else f"2026-01-01T00:00:00Z{TITLE}",
        "author": HTML,
        "config": {
            "Env": [f"EVIL={TITLE}{CLEAR}", f"PATH=/usr/bin{LINK}"],
            "Labels": {f"title{TITLE}": f"{CLEAR}{HTML}{MARKUP}", "org.opencontainers.image.title": MARKDOWN},
            "Cmd": ["python", f"-c{TITLE}"],
            "WorkingDir": "/app",
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(layer) for layer in layers]},
        "history": history,
    }
    return json.dumps(config).encode()


def oci_layout_files(variant: int = 0, tag: str = "hostile:latest") -> dict[str, bytes]:
    """The files of an OCI layout of the hostile image, its ref name an escape too."""
    layers = hostile_layers(variant)
    blobs = [gzip.compress(layer, mtime=0) for layer in layers]
    config = _config(layers)
    manifest = image_manifest(config, blobs)
    annotations = {"org.opencontainers.image.ref.name": tag.split(":")[-1], "io.containerd.image.name": f"{tag}{TITLE}"}
    index = image_index([descriptor(MANIFEST_TYPE, manifest, annotations=annotations)])
    return {"oci-layout": OCI_LAYOUT, "index.json": index, **blob_files(config, manifest, *blobs)}


def docker_save(variant: int = 0, loadable: bool = False) -> bytes:
    """The hostile image as a legacy `docker save` archive (its config as `_config` makes it; `loadable` for `docker load`)."""
    layers = hostile_layers(variant)
    archive = docker_save_legacy(layers, tag=f"hostile:v{variant}", commands=COMMANDS)
    # swap in the hostile config (same diff_ids): rewrite the archive with it
    source = tarfile.open(fileobj=io.BytesIO(archive))
    files = {member.name: source.extractfile(member).read() for member in source.getmembers() if member.isfile()}  # type: ignore[union-attr]
    manifest = json.loads(files["manifest.json"])
    config = _config(layers, loadable)
    del files[manifest[0]["Config"]]
    name = digest(config).split(":")[1] + ".json"
    files[name] = config
    manifest[0]["Config"] = name
    files["manifest.json"] = json.dumps(manifest).encode()
    return as_tar(files)


def write_variants(folder: Path) -> dict[str, Path]:
    """Every hostile variant written under `folder`: {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    paths["docker-save"] = folder / "hostile.tar"
    paths["docker-save"].write_bytes(docker_save(0))
    paths["docker-save-b"] = folder / "hostile-b.tar"
    paths["docker-save-b"].write_bytes(docker_save(1))
    layout = folder / "hostile-layout"
    for name, data in oci_layout_files(0).items():
        (layout / name).parent.mkdir(parents=True, exist_ok=True)
        (layout / name).write_bytes(data)
    paths["oci-layout"] = layout
    paths["oci-tar"] = folder / "hostile.oci.tar"
    paths["oci-tar"].write_bytes(as_tar(oci_layout_files(1)))
    return paths


def dockerfile(base: str) -> str:
    """A Dockerfile whose RUN command, LABEL, ENV and file names carry the same escapes, for an engine build."""
    return (
        f"FROM {base}\n"
        f"LABEL evil=\"{TITLE}{CLEAR}{HTML}\"\n"
        f"ENV EVIL=\"{CLIPBOARD}\"\n"
        f"RUN mkdir -p /app && touch \"/app/{TITLE}{CLEAR}title.txt\" \"/app/<img src=x onerror=alert(2)>.txt\" \"/app/a|b.txt\" # {TITLE}{CLEAR}{LINK}{CSI8}\n"
        f"RUN echo '{MARKUP}' > /app/markup.txt # {MARKUP} {HTML}\n"
    )


# -- the limits -------------------------------------------------------------------------------


def _raw_member(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _gnu_longname_bomb(declared: int) -> bytes:
    """A GNU long-name header declaring `declared` bytes of name, followed by little: the reader must refuse, not allocate."""
    info = tarfile.TarInfo("././@LongLink")
    info.type, info.size = tarfile.GNUTYPE_LONGNAME, declared
    return info.tobuf(format=tarfile.GNU_FORMAT) + b"a" * 4096


def _zeros_gzip(total: int, chunk: int = 64 << 20) -> bytes:
    """A gzip stream that expands to `total` bytes of zeros, made of repeated members (cheap to make)."""
    member = gzip.compress(b"\0" * chunk, compresslevel=9, mtime=0)
    return member * (total // chunk)


def limit_layers() -> dict[str, tuple[list[bytes], str]]:
    """{name: (layers, what the read must do)}: `read` (a report, maybe with a warning) or `refuse` (one line, exit 2)."""
    deep = "/".join(["d"] * 10_000) + "/leaf.txt"
    many = io.BytesIO()
    with tarfile.open(fileobj=many, mode="w", format=tarfile.GNU_FORMAT) as archive:
        folder = tarfile.TarInfo("big")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for index in range(300_000):
            info = tarfile.TarInfo(f"big/f{index:06d}")
            archive.addfile(info, io.BytesIO(b""))
    record_info = f"{SITE}/huge-1.0.dist-info"
    huge_header = b"Metadata-Version: 2.1\nName: huge-header\nVersion: 1.0\nSummary: " + b"s" * (15 << 20) + b"\n\n"
    return {
        "long-name": ([layer_tar(("file", "a/" + "n" * 65_536, b"x"))], "read"),
        "deep": ([layer_tar(("file", deep, b"deep"))], "read"),
        "many-entries": ([many.getvalue()], "read"),
        "huge-record": (
            [layer_tar(("file", f"{record_info}/METADATA", _metadata("huge", "1.0")), ("file", f"{record_info}/RECORD", b"r," * (25 << 20)))],
            "read",
        ),
        "huge-metadata-header": ([layer_tar(("file", f"{SITE}/hh-1.0.dist-info/METADATA", huge_header))], "read"),
        "longname-bomb": ([_gnu_longname_bomb(10 << 30) + b"\0" * 1024], "refuse"),
    }


def limit_images(folder: Path) -> dict[str, tuple[Path, str]]:
    """The limit images as docker-save archives (the gzip bomb as an OCI layout, its layer gzip)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, (layers, outcome) in limit_layers().items():
        path = folder / f"{name}.tar"
        path.write_bytes(docker_save_legacy(layers, tag=f"limit:{name}"))
        written[name] = (path, outcome)
    # 10 GB of zeros behind an empty tar: the diff_id is not computed here (that would take the reader's time);
    # the reader must stop at its trailer limit, well before the digest would be checked.
    bomb = _zeros_gzip(10 << 30)
    layers = [b"\0" * 1024]
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}, "history": [{"created_by": "RUN bomb"}]}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(bomb), "size": len(bomb)}],
        }
    ).encode()
    del layers
    files = {"oci-layout": OCI_LAYOUT, "index.json": image_index([descriptor(MANIFEST_TYPE, manifest)]), **blob_files(config, manifest, bomb)}
    path = folder / "gzip-bomb.oci.tar"
    path.write_bytes(as_tar(files))
    written["gzip-bomb"] = (path, "refuse")
    return written


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-images")
    for name, path in write_variants(out).items():
        print(name, path)
    for name, (path, outcome) in limit_images(out / "limits").items():
        print(name, path, outcome)
