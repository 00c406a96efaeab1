"""Local stand-ins under the base-image names the real Dockerfiles of `tests/realworld/` use
(no registry is reachable here): built from the harness's own bases, never invented."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from hashlib import sha256
from pathlib import Path

from harness import BASE_IMAGE, CA_BUNDLE, DEFAULT, Engine, docker, ensure_base_image, python_slim_image, uv_binary, uv_binary_image

STANDINS = (
    "python:3.12-slim",
    "python:3.12-slim-bookworm",
    "python:3.12-slim-bullseye",
    "ghcr.io/astral-sh/uv:python3.12-bookworm-slim",
    "ghcr.io/astral-sh/uv:python3.13-bookworm-slim",
    "ghcr.io/astral-sh/uv:latest",
    "python:3.14",
    "python:3.13-slim",
    "python:3.11-slim",
    "ghcr.io/astral-sh/uv:0.10.0",
    "ghcr.io/astral-sh/uv:0.9.26",
    "oven/bun:1",
    "ghcr.io/astral-sh/uv:bookworm-slim",
    "debian:bookworm-slim",
    "nvidia/cuda:12.8.1-base-ubuntu24.04",
    "nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04",
    "nvidia/cuda:13.0.1-runtime-ubuntu24.04",
)
CUDA_STANDINS = STANDINS[-3:]
"""prime-rl's bases (tests/realworld/prime-rl/ADAPTED.md): the test base, CPython 3.12 where Ubuntu 24.04's apt puts
`python3.12` (this machine's pyenv build, as the uv-managed stand-in has it), and ELF stubs under the CUDA
file names the Dockerfile's RUNs look for; no CUDA code. They need a pyenv CPython 3.12 (see managed_python_source)."""

# uv-docker-example's standalone.Dockerfile runs `uv python install 3.12`: uv downloads python-build-standalone
# from GitHub, which is not reachable here. The stand-in `ghcr.io/astral-sh/uv:bookworm-slim` carries a local
# download catalog (uv's own `UV_PYTHON_DOWNLOADS_JSON_URL`, download-metadata.json's format) and one
# `install_only` archive made from this machine's pyenv CPython 3.12, so the Dockerfile itself is unchanged.
MIRROR = "/uvscope-python-mirror"
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"
MANAGED_MINOR = "3.12"
MANAGED_STANDIN = "ghcr.io/astral-sh/uv:bookworm-slim"

# fastapi-redis-utils's Dockerfile runs `pip install --no-cache-dir uv` on python:3.11-slim; the harness's base has no pip.
PIP_STANDIN = "python:3.11-slim"

FAKE_BUN = """#!/bin/sh
# stand-in for bun (not installable here): `bun install` does nothing, `bun run build` writes the page
# full-stack-fastapi-template's vite build would write into backend/app/frontend
set -e
if [ "$1" = run ] && [ "$2" = build ]; then
  mkdir -p /app/backend/app/frontend && echo '<!doctype html><title>stand-in</title>' > /app/backend/app/frontend/index.html
fi
"""


def _drop_from_install_only(parts: list[str]) -> bool:
    """What python-build-standalone's `install_only` layout leaves out of this machine's pyenv build (or what is
    not the interpreter's own: the pip pyenv put in site-packages), the same cut as the harness's python:slim base."""
    drop = {"__pycache__", "test", "idlelib", "tkinter", "turtledemo", "ensurepip"}
    if any(part in drop or part.startswith("config-3") for part in parts):
        return True
    return "site-packages" in parts[:-1]


def managed_python_archive(folder: Path) -> tuple[str, str]:
    """Writes `folder/cpython-X.Y.Z-x86_64-unknown-linux-gnu-install_only.tar.gz` from this machine's pyenv
    CPython MANAGED_MINOR (laid out as python-build-standalone's: `python/bin/pythonX.Y`, `python/lib/...`),
    byte for byte the same on every call so the stand-in's build hits its cache; returns (name, version).
    pyenv links `bin/pythonX.Y` to its libpython through an absolute RUNPATH; the archive's binary has
    `$ORIGIN/../lib` in its place (written over the same bytes, NUL-padded), as python-build-standalone's."""
    prefix = managed_python_source()
    if prefix is None:
        raise RuntimeError(f"no CPython {MANAGED_MINOR} under {PYENV_VERSIONS}: the stand-in for uv-managed Python needs one")
    binary = prefix / "bin" / f"python{MANAGED_MINOR}"
    version = subprocess.run(
        [binary, "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    data = binary.read_bytes()
    runpath = f"{prefix}/lib".encode() + b"\0"
    if data.count(runpath) != 1:
        raise RuntimeError(f"{binary}: expected its RUNPATH {runpath[:-1].decode()} once, found it {data.count(runpath)} times")
    relative = b"$ORIGIN/../lib\0"
    data = data.replace(runpath, relative + b"\0" * (len(runpath) - len(relative)))
    name = f"cpython-{version}-x86_64-unknown-linux-gnu-install_only.tar.gz"

    def entry(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if _drop_from_install_only(info.name.split("/")[1:]):
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with open(folder / name, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as packed:
        with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for part in ("include", "lib"):
                archive.add(prefix / part, f"python/{part}", filter=entry)
            info = entry(archive.gettarinfo(binary, f"python/bin/python{MANAGED_MINOR}"))
            assert info is not None
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            for link in ("python3", "python"):
                info = tarfile.TarInfo(f"python/bin/{link}")
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, f"python{MANAGED_MINOR}", 0o777
                archive.addfile(info)
    return name, version


def managed_python_catalog(folder: Path, name: str, version: str) -> None:
    """`folder/download-metadata.json`: uv's download catalog with the one archive, at its path in the stand-in."""
    major, minor, patch = (int(x) for x in version.split("."))
    key = f"cpython-{version}-linux-x86_64-gnu"
    catalog = {
        key: {
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": None},
            "os": "linux",
            "libc": "gnu",
            "major": major,
            "minor": minor,
            "patch": patch,
            "prerelease": "",
            "url": f"file://{MIRROR}/{name}",
            "sha256": sha256((folder / name).read_bytes()).hexdigest(),
            "variant": None,
            "build": "pyenv",
        }
    }
    (folder / "download-metadata.json").write_text(json.dumps(catalog, indent=2) + "\n")


def ensure_standins(engine: Engine | None = None) -> None:
    """`ghcr.io/astral-sh/uv:python3.12-bookworm-slim` and `-python3.13-bookworm-slim` (the python:slim-like
    base + uv: CPython 3.11 under either name) and
    `python:3.12-slim-bookworm` and `python:3.12-slim-bullseye` (the python:slim-like base, bookworm;
    its CPython is this machine's 3.11), `ghcr.io/astral-sh/uv:latest` (only `/uv`),
    `python:3.12-slim`, `python:3.13-slim` and `python:3.14` (the same 3.11 base), `python:3.11-slim` (the same base + pip, see PIP_STANDIN), `ghcr.io/astral-sh/uv:0.9.26`
    and `ghcr.io/astral-sh/uv:0.10.0` (`/uv` and `/uvx`) and `oven/bun:1`
    (the base with a stand-in `bun`, see FAKE_BUN), `debian:bookworm-slim` (the base) and
    `ghcr.io/astral-sh/uv:bookworm-slim` (the base + uv + a local catalog of uv-managed Python, see MIRROR);
    on the default engine and, when given, copied to `engine`."""
    slim = python_slim_image()
    docker("tag", slim, "python:3.12-slim")
    docker("tag", slim, "python:3.12-slim-bookworm")
    docker("tag", slim, "python:3.12-slim-bullseye")
    docker("tag", uv_binary_image(), "ghcr.io/astral-sh/uv:latest")
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        (Path(context) / "Dockerfile").write_text(f"FROM {slim}\nCOPY uv /usr/local/bin/uv\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim", context)
    docker("tag", "ghcr.io/astral-sh/uv:python3.12-bookworm-slim", "ghcr.io/astral-sh/uv:python3.13-bookworm-slim")
    docker("tag", slim, "python:3.14")
    docker("tag", slim, "python:3.13-slim")
    _pip_standin(slim)
    ensure_base_image()
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(uv_binary(), Path(context) / "uv")
        shutil.copy(Path(uv_binary()).with_name("uvx"), Path(context) / "uvx")
        (Path(context) / "Dockerfile").write_text("FROM scratch\nCOPY uv uvx /\n")
        docker("build", "--network", "host", "-t", "ghcr.io/astral-sh/uv:0.9.26", context)
    docker("tag", "ghcr.io/astral-sh/uv:0.9.26", "ghcr.io/astral-sh/uv:0.10.0")
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        (Path(context) / "bun").write_text(FAKE_BUN)
        (Path(context) / "bun").chmod(0o755)
        (Path(context) / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY bun /usr/local/bin/bun\n")
        docker("build", "--network", "host", "-t", "oven/bun:1", context)
    docker("tag", BASE_IMAGE, "debian:bookworm-slim")
    if managed_python_source() is not None:
        _managed_python_standin()
        _cuda_standins()
    if engine is not None and engine is not DEFAULT:
        for name in STANDINS:
            if (name != MANAGED_STANDIN and name not in CUDA_STANDINS) or managed_python_source() is not None:
                engine.copy_from_default(name)


def _pip_standin(slim: str) -> None:
    """PIP_STANDIN: the python:slim-like base + pip, as the official image has it. The pip is the wheel this
    machine's CPython bundles for `ensurepip` (the module the base leaves out), installed as ensurepip does;
    `PIP_CERT` points pip at the base's CA bundle, as its `SSL_CERT_FILE` does for uv."""
    bundled = sorted(
        (Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "ensurepip" / "_bundled").glob(
            "pip-*.whl"
        )
    )
    if not bundled:
        raise RuntimeError(f"no pip wheel bundled with {sys.base_prefix}'s ensurepip: {PIP_STANDIN}'s stand-in needs one")
    wheel = bundled[-1].name
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        shutil.copy(bundled[-1], Path(context) / wheel)
        (Path(context) / "Dockerfile").write_text(
            f"FROM {slim}\n"
            f"RUN --mount=type=bind,source={wheel},target=/tmp/{wheel} python3 /tmp/{wheel}/pip install --no-cache-dir --no-index /tmp/{wheel} && pip --version\n"
            # the CA bundle the base's SSL_CERT_FILE names (this machine's TLS proxy included): pip reads its own setting
            "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt\n"
        )
        docker("build", "--network", "host", "-t", PIP_STANDIN, context)


def managed_python_source() -> Path | None:
    """This machine's pyenv CPython MANAGED_MINOR, the newest patch release (None: there is none, so the
    stand-in for uv-managed Python, and the projects that need it, cannot be built here)."""
    sources = sorted(
        (p for p in PYENV_VERSIONS.glob(f"{MANAGED_MINOR}.*") if p.name.replace(".", "").isdigit()),
        key=lambda p: [int(x) for x in p.name.split(".")],
    )
    return sources[-1] if sources else None


def _managed_python_standin() -> None:
    """`ghcr.io/astral-sh/uv:bookworm-slim`: the base + uv + the local catalog of uv-managed Python."""
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        folder = Path(context)
        shutil.copy(uv_binary(), folder / "uv")
        shutil.copy(Path(uv_binary()).with_name("uvx"), folder / "uvx")
        shutil.copy(CA_BUNDLE, folder / "ca-certificates.crt")
        (folder / "mirror").mkdir()
        name, version = managed_python_archive(folder / "mirror")
        managed_python_catalog(folder / "mirror", name, version)
        (folder / "Dockerfile").write_text(
            f"FROM {BASE_IMAGE}\n"
            "COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n"
            "COPY uv uvx /usr/local/bin/\n"
            f"COPY mirror {MIRROR}\n"
            f"ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_PYTHON_DOWNLOADS_JSON_URL=file://{MIRROR}/download-metadata.json\n"
            # the archive's interpreter must run where uv unpacks it (relocatable) with this base's shared libraries
            f"RUN mkdir /tmp/check && tar -xzf {MIRROR}/{name} -C /tmp/check"
            " && /tmp/check/python/bin/python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal, sys;"
            ' assert sys.prefix == "/tmp/check/python", sys.prefix\''
            " && rm -rf /tmp/check\n"
        )
        docker("build", "--network", "host", "-t", MANAGED_STANDIN, context)


NVCC = """#!/bin/sh
# stand-in for nvcc (tests/realworld/prime-rl/ADAPTED.md): no CUDA compiler here, only its version line
echo "nvcc: NVIDIA (R) Cuda compiler driver (uvscope stand-in)"
echo "Cuda compilation tools, release 12.8, V12.8.93"
"""


def _cuda_libraries(folder: Path, libraries: dict[str, str], archives: tuple[str, ...] = ()) -> None:
    """`folder/targets/x86_64-linux/lib`: for each `file name -> SONAME`, an empty ELF shared library with that
    SONAME (so ldconfig caches it) and the SONAME's link to it, as the CUDA packages lay them out; `.a` archives of
    one empty object; `lib64` links to it, as the toolkit's does."""
    lib = folder / "targets" / "x86_64-linux" / "lib"
    lib.mkdir(parents=True)
    (folder / "targets" / "x86_64-linux" / "include").mkdir()
    (folder / "targets" / "x86_64-linux" / "include" / "cuda_runtime.h").write_text("/* uvscope stand-in: no CUDA headers */\n")
    (folder / "lib64").symlink_to("targets/x86_64-linux/lib")
    (folder / "include").symlink_to("targets/x86_64-linux/include")
    with tempfile.TemporaryDirectory(prefix="uvscope-cuda-") as scratch:
        source = Path(scratch) / "stub.c"
        source.write_text("int uvscope_cuda_stand_in(void) { return 0; }\n")
        for name, soname in libraries.items():
            subprocess.run(
                ["gcc", "-shared", "-fPIC", "-nostdlib", f"-Wl,-soname,{soname}", "-o", str(lib / name), "stub.c"], check=True, cwd=scratch
            )
            if soname != name:
                (lib / soname).symlink_to(name)
        subprocess.run(["gcc", "-c", "-o", "stub.o", "stub.c"], check=True, cwd=scratch)  # relative: the same bytes every time
        for name in archives:
            subprocess.run(["ar", "rcsD", str(lib / name), str(Path(scratch) / "stub.o")], check=True)


CUDA_ENV = (
    "ENV NVARCH=x86_64 NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility"
    " PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    " LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64"
)


def _cuda_standins() -> None:
    """prime-rl's three `nvidia/cuda` bases (see CUDA_STANDINS). `12.8.1-base` and `12.8.1-cudnn-devel` carry
    CPython 3.12 as `/usr/bin/python3.12` (+ `/usr/lib/python3.12`, `/usr/lib/libpython3.12.so.1.0`: the apt
    layout, standing for the Dockerfile's `apt-get install python3.12`) and the CA bundle at a path apt's
    ca-certificates does not rewrite; `-cudnn-devel` has the toolkit's `/usr/local/cuda-12.8` (a `bin/nvcc`
    that prints its version, stub libcudart/libcublas/... and the `.a` archives cuda-trim deletes or keeps);
    `13.0.1-runtime` has the stub libcudart.so.13 / libnvrtc.so.13 / libnvrtc-builtins.so.13.0 the cuda13
    stage copies and the runtime stage's ldconfig must find."""
    ensure_base_image()
    with tempfile.TemporaryDirectory(prefix="uvscope-standin-") as context:
        folder = Path(context)
        name, version = managed_python_archive(folder)
        (folder / name).rename(folder / "python.tar.gz")
        shutil.copy(CA_BUNDLE, folder / "ca-certificates.crt")
        _cuda_libraries(folder / "cuda-12.8-base", {"libcudart.so.12.8.90": "libcudart.so.12"})
        _cuda_libraries(
            folder / "cuda-12.8-devel",
            {
                "libcudart.so.12.8.90": "libcudart.so.12",
                "libnvrtc.so.12.8.93": "libnvrtc.so.12",
                "libcublas.so.12.8.4.1": "libcublas.so.12",
                "libcublasLt.so.12.8.4.1": "libcublasLt.so.12",
                "libcufft.so.11.3.3.83": "libcufft.so.11",
                "libcusparse.so.12.5.8.93": "libcusparse.so.12",
                "libcurand.so.10.3.9.90": "libcurand.so.10",
            },
            ("libcudart_static.a", "libcudadevrt.a", "libculibos.a", "libcublas_static.a"),
        )
        (folder / "cuda-12.8-devel" / "bin").mkdir()
        (folder / "cuda-12.8-devel" / "bin" / "nvcc").write_text(NVCC)
        (folder / "cuda-12.8-devel" / "bin" / "nvcc").chmod(0o755)
        _cuda_libraries(
            folder / "cuda-13.0-runtime",
            {
                "libcudart.so.13.0.96": "libcudart.so.13",
                "libnvrtc.so.13.0.88": "libnvrtc.so.13",
                "libnvrtc-builtins.so.13.0.88": "libnvrtc-builtins.so.13.0",
            },
        )
        python = (
            "RUN --mount=type=bind,source=python.tar.gz,target=/tmp/python.tar.gz"
            " tar -xzf /tmp/python.tar.gz -C /usr --strip-components=1 --exclude=python/bin/python3 --exclude=python/bin/python"
            f" && /usr/bin/python3.12 -c 'import ssl, sqlite3, ctypes, sys; assert sys.prefix == \"/usr\", sys.prefix; assert sys.version.startswith(\"{version}\")'\n"
            "COPY ca-certificates.crt /etc/ssl/uvscope-standin/ca-certificates.crt\n"
            "ENV SSL_CERT_FILE=/etc/ssl/uvscope-standin/ca-certificates.crt\n"
        )
        for tag, cuda, minor, with_python in (
            ("nvidia/cuda:12.8.1-base-ubuntu24.04", "cuda-12.8-base", "12.8", True),
            ("nvidia/cuda:12.8.1-cudnn-devel-ubuntu24.04", "cuda-12.8-devel", "12.8", True),
            ("nvidia/cuda:13.0.1-runtime-ubuntu24.04", "cuda-13.0-runtime", "13.0", False),
        ):
            version_line = f"ENV CUDA_VERSION={tag.split(':')[1].split('-')[0]}\n"
            (folder / "Dockerfile").write_text(
                f"FROM {BASE_IMAGE}\n"
                + (python if with_python else "")
                + f"COPY {cuda} /usr/local/cuda-{minor}\n"
                f"RUN ln -s cuda-{minor} /usr/local/cuda\n"
                f"{CUDA_ENV}\n{version_line}"
            )
            docker("build", "--network", "host", "-t", tag, context)
