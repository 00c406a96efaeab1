"""Property-based tests (hypothesis, fixed budget): parsers never fail with anything but a clear error."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tarbuilder import compress, docker_save_legacy, layer_tar

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.image.model import ImageMeta
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.packages.attribution import attribute
from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.plan.docker_rewrite import rewrite_dockerfile
from uvscope.analysis.plan.dockerfile import parse_dockerfile
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.read.layer_reader import read_layer
from uvscope.analysis.read.sources import open_source, read_image

BUDGET = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
LAYER = layer_tar(("dir", "a"), ("file", "a/b", b"x" * 700), ("symlink", "a/l", "b"), ("whiteout", "a/gone"), ("opaque", "a"))

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)


@st.composite
def mutated(draw, data: bytes):
    """`data` truncated, with bytes flipped or spliced."""
    out = bytearray(data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)
    for _ in range(draw(st.integers(0, 8))):
        if out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


@BUDGET
@given(mutated(LAYER), st.sampled_from(["plain", "gzip", "zstd"]))
def test_layer_reader_reads_or_refuses(data, how):
    try:
        layer = read_layer(io.BytesIO(compress(data, how) if how != "plain" else data))
    except UvscopeError:
        return
    assert all(not entry.path.startswith(("/", "../")) and entry.size >= 0 for entry in layer.entries)


@BUDGET
@given(st.lists(st.tuples(st.sampled_from(["file", "dir", "symlink", "hardlink", "whiteout", "opaque"]), names), max_size=12))
def test_any_layer_stacks_and_attributes(items):
    built = []
    for kind, name in items:
        name = "venv/lib/python3.11/site-packages/" + name if kind == "file" and len(name) % 2 else name
        built.append((kind, name, b"r,sha256=x,1\n") if kind == "file" else (kind, name, "t") if kind in ("symlink", "hardlink") else (kind, name))
    try:
        data = layer_tar(*built)
    except (ValueError, UnicodeEncodeError):
        return
    layer = read_layer(io.BytesIO(data))
    single = build_image(ImageMeta("x", "sha256:0", ("sha256:1",), ("",), {}), [layer])
    image = build_image(ImageMeta("x", "sha256:0", ("sha256:1", "sha256:2"), ("", ""), {}), [layer, layer])
    attribute(image)
    # Shipping the same layer twice hides what the first copy made visible: never less than one copy
    # wastes, never more than everything both copies hold.
    assert 0 <= single.reclaimable_bytes <= layer.size_bytes
    assert single.reclaimable_bytes <= image.reclaimable_bytes <= 2 * layer.size_bytes
    visible_files = sum(1 for entry in layer.entries if entry.kind.name == "FILE" and entry.size > 0)
    if visible_files and not layer.whiteouts and not layer.opaque_dirs:
        assert image.reclaimable_bytes > single.reclaimable_bytes


@BUDGET
@given(mutated(docker_save_legacy([LAYER, layer_tar(("file", "c", b"y"))])))
def test_archives_read_or_refuse(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("archive") / "image.tar"
    path.write_bytes(data)
    try:
        read_image(open_source(str(path)))
    except UvscopeError:
        pass


@BUDGET
@given(st.text(max_size=400))
def test_lock_parser_reads_or_refuses(text):
    try:
        parse_lock(text, "uv.lock")
    except UvscopeError:
        pass


@BUDGET
@given(st.text(max_size=400))
def test_dockerfile_parser_reads_or_refuses(text):
    try:
        parse_dockerfile(text)
    except UvscopeError:
        pass


instruction = st.sampled_from(
    [
        "ENV A=1", "ARG B", "WORKDIR /app", "COPY pyproject.toml uv.lock ./", "COPY . .", "RUN echo hi \\\n  && true",
        "COPY --from=ghcr.io/astral-sh/uv:0.8 /uv /bin/", "RUN pip install uv", "# a comment", "", "USER app",
        "RUN <<EOF\necho heredoc\nEOF",
    ]
)


@BUDGET
@given(st.lists(instruction, max_size=8), st.lists(instruction, max_size=4))
def test_rewrite_keeps_every_line_and_parses_again(before, after):
    text = "\n".join(["FROM python:3.12", *before, "RUN uv sync --frozen --no-install-project", *after]) + "\n"
    result = rewrite_dockerfile(text, Grouping((Group("heavy", ("torch",)),)), member_paths={"app": "."}, workspace=False)
    parse_dockerfile(result.text)
    remaining = iter(result.text.splitlines())
    assert all(any(line == new for new in remaining) for line in text.splitlines())
