"""Build real images on the real Docker Engine for the tests, once, cached by content.

Each fixture under `tests/images/NAME/` is a uv project with a Dockerfile. It
is built with BuildKit (Debian's docker client, `DOCKER_BUILDKIT=1`,
`--network host`) into `uvscope-test/NAME:<hash>`, where the hash covers the
fixture's files, the base image and the uv binary: an unchanged fixture is
never rebuilt, across test sessions too, as long as the engine keeps it.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

IMAGES = Path(__file__).parent / "images"
BASE_IMAGE = "uvscope-test-base:bookworm"
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


DOCKER26_HOST = "unix:///run/uvscope-engines/docker26.sock"
PODMAN5_HOST = os.environ.get("UVSCOPE_PODMAN5_HOST", "unix:///run/uvscope-engines/podman5.sock")
ENGINES_BIN = Path(os.environ.get("UVSCOPE_ENGINES_DIR", "/var/cache/uvscope-engines")) / "bin"


class Engine:
    """One engine the tests build on and read from: its socket (`DOCKER_HOST`, as a user points uvscope at it)
    and its CLI. `DEFAULT` is Debian bookworm's dockerd 20.10 on the default socket; `DOCKER26` is trixie's
    dockerd 26.1.5 with the containerd image store and buildx 0.13.1 (tests/setup-engine.sh starts both)."""

    def __init__(self, name: str, host: str | None, cli: str) -> None:
        self.name, self.host, self.cli = name, host, cli

    def __repr__(self) -> str:
        return self.name

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a user has who points docker and uvscope at this engine."""
        env = {**os.environ, "DOCKER_BUILDKIT": "1", **extra}
        if self.host:
            env["DOCKER_HOST"] = self.host
        return env

    def copy_from_default(self, reference: str) -> str:
        """Make the default engine's image `reference` this engine's too (`docker save | docker load`), once."""
        if self is not DEFAULT and docker("image", "inspect", reference, check=False, engine=self).returncode != 0:
            saved = subprocess.Popen([DOCKER, "save", reference], stdout=subprocess.PIPE)
            subprocess.run([self.cli, "load", "-q"], stdin=saved.stdout, check=True, capture_output=True, env=self.env())
            if saved.wait() != 0:
                raise RuntimeError(f"docker save {reference} failed")
        return reference


KEPT_IMAGES = re.compile(r"^uvscope-test-(base|uv|pyslim|uvbin)(:|$)|^uvscope-test/[^:]+:[0-9a-f]{12}$")
"""Images a test session keeps: the base images and the content-hashed fixtures (rebuilding them takes minutes)."""
CREATED: dict[str, str | None] = {}
"""Tags this test session gave images (other than KEPT_IMAGES) -> the image the tag named before, if any."""


def _tag_of(args: tuple[str, ...]) -> str | None:
    """The tag a `docker build -t REF ...` or `docker tag SRC REF` gives."""
    if args[:1] == ("build",) and "-t" in args:
        return args[args.index("-t") + 1]
    if args[:1] == ("tag",) and len(args) >= 3:
        return args[2]
    return None


def docker(*args: str, check: bool = True, capture: bool = True, engine: Engine | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the docker client of `engine` (Debian's, the one that can drive BuildKit on 20.10, by default).

    Tags given by `build -t` and `tag` on the default engine are remembered (`CREATED`) so the session can
    remove them at its end.
    """
    engine = engine or DEFAULT
    env = engine.env()
    tag = _tag_of(args)
    if engine is DEFAULT and tag is not None and not KEPT_IMAGES.match(tag) and tag not in CREATED:
        before = subprocess.run([DOCKER, "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True, text=True)
        CREATED[tag] = before.stdout.strip() if before.returncode == 0 else None
    return subprocess.run([engine.cli, *args], check=check, capture_output=capture, text=True, env=env, **kwargs)


DEFAULT = Engine("docker 20.10", None, DOCKER)
DOCKER26 = Engine("docker 26", DOCKER26_HOST, str(ENGINES_BIN / "docker26"))
PODMAN5 = Engine("podman 5", None, os.environ.get("UVSCOPE_PODMAN5_CLI", str(ENGINES_BIN / "podman5")))
"""Podman's client talks to its service's socket itself (`--url`); uvscope finds it through CONTAINER_HOST.
UVSCOPE_PODMAN5_HOST / UVSCOPE_PODMAN5_CLI name another service of the same podman (a second socket)."""


def remove_created_images() -> list[str]:
    """Remove the tags this session created, and images they replaced that nothing names any more; returns what went."""
    removed = []
    for tag, previous in list(CREATED.items()):
        if subprocess.run([DOCKER, "rmi", tag], capture_output=True, text=True).returncode == 0:
            removed.append(tag)
        if previous:  # a rebuilt tag leaves the old image dangling; `rmi` refuses it while anything still uses it
            dangling = subprocess.run([DOCKER, "image", "inspect", "--format", "{{len .RepoTags}}", previous], capture_output=True, text=True)
            if dangling.stdout.strip() == "0" and subprocess.run([DOCKER, "rmi", previous], capture_output=True).returncode == 0:
                removed.append(previous)
        del CREATED[tag]
    return removed


def uv_binary() -> str:
    """The uv binary shipped by the `uv` PyPI package (copied into test images)."""
    from uv import find_uv_bin

    return find_uv_bin()


def ensure_base_image() -> str:
    """Build the debootstrap base image if the engine does not have it yet."""
    subprocess.run(["bash", str(IMAGES / "build-base.sh"), BASE_IMAGE], check=True, env={**os.environ, "PATH": f"/usr/bin:{os.environ['PATH']}"})
    return docker("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE).stdout.strip()


def _build_small_image(name: str, dockerfile: str, files: dict[str, str | Path], extra: list[str]) -> str:
    """Build a helper image from `dockerfile` and `files` (context path -> file or folder), tagged by content."""
    digest = hashlib.sha256(dockerfile.encode())
    for item in extra:
        digest.update(item.encode())
    for target, source in sorted(files.items()):
        digest.update(target.encode())
        source = Path(source)
        if source.is_file():
            digest.update(hashlib.sha256(source.read_bytes()).digest())
    reference = f"{name}:{digest.hexdigest()[:12]}"
    if docker("image", "inspect", reference, check=False).returncode == 0:
        return reference
    with tempfile.TemporaryDirectory(prefix="uvscope-helper-") as context:
        for target, source in files.items():
            source = Path(source)
            if source.is_dir():
                shutil.copytree(source, Path(context) / target, symlinks=True, ignore=_python_ignore)
            else:
                shutil.copy(source, Path(context) / target)
        (Path(context) / "Dockerfile").write_text(dockerfile)
        result = docker("build", "--network", "host", "-t", reference, context, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"docker build of {name} failed:\n{result.stderr[-4000:]}")
    return reference


def _python_ignore(folder: str, names: list[str]) -> set[str]:
    """What a python:slim image leaves out of a CPython install (and what is not the interpreter's own)."""
    drop = {"__pycache__", "site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "pkgconfig"}
    return {name for name in names if name in drop or name.startswith("config-3")}


def uv_base_image() -> str:
    """The test base with uv and the CA bundle, like the uv project's own python images
    (`ghcr.io/astral-sh/uv:python3.11-bookworm`): a `COPY . /app` brings no uv binary into the app layer."""
    base_id = ensure_base_image()
    dockerfile = (
        f"FROM {BASE_IMAGE}\n"
        "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
        "COPY uv /usr/local/bin/uv\n"
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_PYTHON_DOWNLOADS=never\n"
    )
    return _build_small_image("uvscope-test-uv", dockerfile, {"uv": uv_binary(), "ca-certificates.crt": CA_BUNDLE}, [base_id])


def uv_binary_image() -> str:
    """An image holding only `/uv`, like `ghcr.io/astral-sh/uv` (for `COPY --from` and `RUN --mount=from=`)."""
    return _build_small_image("uvscope-test-uvbin", "FROM scratch\nCOPY uv /uv\n", {"uv": uv_binary()}, [])


def python_slim_image() -> str:
    """A python:slim-like base: CPython installed under /usr/local (this machine's own interpreter,
    copied as the official image lays it out), the CA bundle, and no uv."""
    import sys
    import sysconfig

    base_id = ensure_base_image()
    prefix = Path(sys.base_prefix)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    files: dict[str, str | Path] = {"ca-certificates.crt": CA_BUNDLE, "python-lib": prefix / "lib" / f"python{version}"}
    binary = Path(os.path.realpath(prefix / "bin" / f"python{version}"))
    files["python"] = binary
    shared = sysconfig.get_config_var("INSTSONAME") if sysconfig.get_config_var("Py_ENABLE_SHARED") else None
    lines = [
        f"FROM {BASE_IMAGE}",
        "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt",
        f"COPY python /usr/local/bin/python{version}",
        f"COPY python-lib /usr/local/lib/python{version}",
    ]
    if shared:
        files["libpython"] = prefix / "lib" / shared
        lines.append(f"COPY libpython /usr/local/lib/{shared}")
    lines += [
        f"RUN ldconfig && mkdir -p /usr/local/lib/python{version}/site-packages"
        f" && ln -s python{version} /usr/local/bin/python3 && ln -s python3 /usr/local/bin/python"
        " && /usr/local/bin/python -c 'import sys, ssl, sqlite3; assert sys.prefix == \"/usr/local\", sys.prefix'",
        "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_PYTHON_DOWNLOADS=never",
    ]
    return _build_small_image("uvscope-test-pyslim", "\n".join(lines) + "\n", files, [base_id, sys.version])


def _fixture_hash(folder: Path, extra: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:12]


def build_fixture(
    name: str, *, folder: Path | None = None, tag: str | None = None, build_args: dict | None = None, engine: Engine | None = None
) -> str:
    """Build `tests/images/NAME` (or `folder`) on `engine` (the default one unless named) and return its image reference."""
    folder = folder or IMAGES / name
    base_id = ensure_base_image()
    if engine is not None and engine is not DEFAULT:
        engine.copy_from_default(BASE_IMAGE)  # the same base on every engine (no registry to pull one from)
    uv = uv_binary()
    uv_digest = hashlib.sha256(Path(uv).read_bytes()).hexdigest()
    extra = [base_id, uv_digest, repr(sorted((build_args or {}).items()))]
    reference = tag or f"uvscope-test/{name}:{_fixture_hash(folder, extra)}"
    if docker("image", "inspect", reference, check=False, engine=engine).returncode == 0:
        return reference
    with tempfile.TemporaryDirectory(prefix=f"uvscope-{name}-") as context:
        shutil.copytree(folder, context, dirs_exist_ok=True)
        shutil.copy(uv, Path(context) / "uv")
        shutil.copy(CA_BUNDLE, Path(context) / "ca-certificates.crt")
        args = ["build", "--network", "host", "-t", reference]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        result = docker(*args, context, check=False, engine=engine)
        if result.returncode != 0:
            raise RuntimeError(f"docker build of {name} failed on {engine or DEFAULT}:\n{result.stderr[-4000:]}")
    return reference


def saved_layers(reference: str) -> list[tuple[str, int, list[tarfile.TarInfo]]]:
    """(diff_id, tar bytes, entries) of each layer of `reference`, read from `docker save` and hashed here,
    not through uvscope: the engine tests' independent truth about which layers a rebuild re-created."""
    return saved_images(reference)[reference]


def saved_images(*references: str, engine: Engine | None = None) -> dict[str, list[tuple[str, int, list[tarfile.TarInfo]]]]:
    """`saved_layers` of several images from one `docker save` (of `engine`, the default one unless given):
    a layer they share is streamed and hashed once."""
    import gzip
    import hashlib
    import json
    import tarfile

    class Hashing:
        """Hashes and counts every byte the tar parser reads from one layer (its uncompressed tar)."""

        def __init__(self, source, sha) -> None:
            self.source, self.sha, self.size = source, sha, 0

        def read(self, size: int = -1) -> bytes:
            data = self.source.read(size)
            self.sha.update(data)
            self.size += len(data)
            return data

    class Peeked:
        """A stream with its first bytes read back in front (to tell a gzip blob from a tar)."""

        def __init__(self, source, head: bytes) -> None:
            self.source, self.head = source, head

        def read(self, size: int = -1) -> bytes:
            if self.head:
                data, self.head = (self.head, b"") if size < 0 or size >= len(self.head) else (self.head[:size], self.head[size:])
                return data + (self.source.read(size - len(data)) if size < 0 or size > len(data) else b"")
            return self.source.read(size)

    engine = engine or DEFAULT
    process = subprocess.Popen([engine.cli, "save", *references], stdout=subprocess.PIPE, env=engine.env())
    assert process.stdout is not None
    blobs: dict[str, tuple[str, int, list[tarfile.TarInfo]]] = {}
    links: dict[str, str] = {}
    manifest = None
    with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
        for member in archive:
            if member.name == "manifest.json":
                manifest = json.load(archive.extractfile(member))
            elif member.isfile() and (member.name.endswith("/layer.tar") or member.name.startswith("blobs/")):
                handle = archive.extractfile(member)
                head = handle.read(2)
                # docker 26's containerd image store saves the layers as stored: gzip blobs, hashed uncompressed
                # here (their diff_id) so the sizes and identities are the ones docker 20.10's layer.tar give
                source = gzip.GzipFile(fileobj=Peeked(handle, head)) if head == b"\x1f\x8b" else Peeked(handle, head)
                digest, entries = hashlib.sha256(), []
                hashing = Hashing(source, digest)
                try:
                    with tarfile.open(fileobj=hashing, mode="r|") as layer:
                        entries = list(layer)
                except (tarfile.ReadError, OSError):
                    pass  # a config or manifest blob
                try:
                    while hashing.read(1 << 20):
                        pass
                except OSError:
                    pass  # not gzip after all
                blobs[member.name] = (f"sha256:{digest.hexdigest()}", hashing.size if entries else member.size, entries)
            elif member.issym() and member.name.endswith("/layer.tar"):  # a layer two saved images share is stored once
                links[member.name] = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
    if process.wait() != 0 or manifest is None:
        raise RuntimeError(f"docker save {' '.join(references)} failed")
    for name, target in links.items():
        while target in links:
            target = links[target]
        blobs[name] = blobs[target]
    if len(references) == 1:  # an image ID or a digest names no RepoTag
        return {references[0]: [blobs[name] for name in manifest[0]["Layers"]]}
    by_tag = {tag: [blobs[name] for name in image["Layers"]] for image in manifest for tag in image.get("RepoTags") or ()}
    return {reference: by_tag[reference if ":" in reference.rpartition("/")[2] else f"{reference}:latest"] for reference in references}


def save_image(reference: str, path: Path) -> Path:
    """`docker save` the image into `path` (cached: a present file is reused)."""
    if not path.exists():
        partial = path.with_suffix(".partial")
        docker("save", "-o", str(partial), reference)
        partial.rename(path)
    return path


def skopeo_oci(reference: str, folder: Path, tag: str = "latest") -> Path:
    """Copy the engine image into an OCI layout folder with skopeo."""
    if not (folder / "index.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(
            ["skopeo", "copy", "--quiet", f"docker-daemon:{reference}", f"oci:{folder}:{tag}"],
            check=True,
            capture_output=True,
        )
    return folder


def skopeo_oci_archive(reference: str, path: Path, tag: str = "latest") -> Path:
    """Copy the engine image into an OCI layout tar with skopeo."""
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        subprocess.run(
            ["skopeo", "copy", "--quiet", f"docker-daemon:{reference}", f"oci-archive:{partial}:{tag}"],
            check=True,
            capture_output=True,
        )
        partial.rename(path)
    return path


class Registry:
    """Debian's docker-registry on a loopback port, optionally behind htpasswd basic auth, or read-only
    (its maintenance mode: it answers /v2/ and pulls, and refuses every upload)."""

    def __init__(self, folder: Path, *, user: str | None = None, password: str | None = None, readonly: bool = False) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.user, self.password = user, password
        folder.mkdir(parents=True, exist_ok=True)
        config = [
            "version: 0.1",
            "storage:",
            f"  filesystem:\n    rootdirectory: {folder / 'data'}",
            *(["  maintenance:", "    readonly:", "      enabled: true"] if readonly else []),
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
        ]
        if user:
            subprocess.run(["htpasswd", "-Bbc", str(folder / "htpasswd"), user, password], check=True, capture_output=True)
            config += ["auth:", "  htpasswd:", "    realm: uvscope-tests", f"    path: {folder / 'htpasswd'}"]
        (folder / "config.yml").write_text("\n".join(config) + "\n")
        self.log = open(folder / "registry.log", "w")
        self.process = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")], stdout=self.log, stderr=self.log)
        import time
        import urllib.error
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("docker-registry did not start")

    def push(self, reference: str, repository: str) -> str:
        """Copy an engine image into the registry with skopeo; return `host/repository`."""
        target = f"{self.host}/{repository}"
        args = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false"]
        if self.user:
            args.append(f"--dest-creds={self.user}:{self.password}")
        subprocess.run([*args, f"docker-daemon:{reference}", f"docker://{target}"], check=True, capture_output=True)
        return target

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()
