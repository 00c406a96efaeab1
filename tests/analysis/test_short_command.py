"""`short_command`: the one way a layer's history command is shortened for display (summary, Markdown,
HTML, findings, the session's tables)."""

from __future__ import annotations

import io

from tarbuilder import layer_tar

from uvscope.analysis.image.model import ImageMeta
from uvscope.analysis.image.stack import build_image
from uvscope.analysis.output.findings import find_problems
from uvscope.analysis.output.text import short_command
from uvscope.analysis.read.layer_reader import read_layer


def test_builder_noise_is_dropped_and_white_space_folded():
    assert short_command('/bin/sh -c #(nop)  CMD ["python"]') == 'CMD ["python"]'
    assert short_command("/bin/sh -c #(nop) COPY dir:abc in /app ") == "COPY dir:abc in /app"
    assert short_command("/bin/sh -c apt-get update &&\n\tapt-get install -y git") == "apt-get update && apt-get install -y git"
    assert short_command("RUN /bin/sh -c uv sync --frozen # buildkit") == "RUN uv sync --frozen"
    assert short_command("COPY . /app # buildkit") == "COPY . /app"
    assert short_command("") == ""


def test_a_long_command_is_cut_at_a_word():
    command = "RUN /bin/sh -c uv pip install requests==2.32.3 idna==3.10 urllib3==2.2.3 # buildkit"
    short = short_command(command, 40)
    assert len(short) <= 40 and short.endswith("…")
    assert "RUN uv pip install requests==2.32.3 idna==3.10".startswith(short[:-1])


def test_findings_name_a_layer_by_its_short_command():
    layers = [
        layer_tar(("dir", "app"), ("file", "app/big", b"x" * 2000)),
        layer_tar(("whiteout", "app/big")),
    ]
    meta = ImageMeta(
        ref="synthetic",
        id="sha256:0",
        diff_ids=("sha256:0", "sha256:1"),
        created_by=("/bin/sh -c #(nop) ADD file:abc in / ", "/bin/sh -c rm  /app/big"),
        config={},
    )
    image = build_image(meta, [read_layer(io.BytesIO(layer)) for layer in layers])
    deleted = next(finding for finding in find_problems(image, None) if finding.id == "deleted-still-shipped")
    assert deleted.title == "2.0 kB deleted by layer 1 (`rm /app/big`) but still shipped"
