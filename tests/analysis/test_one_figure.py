"""One figure per fact (issue 14): every path that shows a fact shows the same number.

For the real images the suite builds (and two made here: a workspace image
built for one member whose sibling shares a dependency, and a bytecode-compiled
version bump), each fact is computed through the JSON report, its Markdown and
HTML, the text summary, `diff`, `history`, the session's view models and the
grouping preview, and compared. The expected values come from outside
uvscope: the layer tars of `docker save` read with `tarfile`, Python's own
`importlib.metadata` inside the container (`tests/truth.py`), the fixtures'
Dockerfiles.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import time
from functools import cache
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
from harness import IMAGES, build_fixture, docker, save_image, uv_binary

from uvscope.analysis.output.diff import diff_images, diff_summary
from uvscope.analysis.output.findings import find_problems
from uvscope.analysis.output.markdown import diff_markdown
from uvscope.analysis.output.text import count, percent, size
from uvscope.analysis.packages.member import choose_member
from uvscope.analysis.packages.python import analyse_python
from uvscope.analysis.plan.grouping import Group, Grouping, items_for, plan_layers, preview, suggest
from uvscope.analysis.read.cache import LayerCache
from uvscope.analysis.read.sources import open_source, read_image
from uvscope.analysis.untrusted import html_prose, md_prose
from uvscope.analysis.views.browse import layer_tree, package_rows, status_line

pytestmark = pytest.mark.engine

ROOT = Path(__file__).parents[2]
SCHEMA = json.loads((ROOT / "analysis" / "output" / "report.schema.json").read_text())
TRUTH = (ROOT / "tests" / "truth.py").read_text()
VENV_PYTHON = "/app/.venv/bin/python"


# -- ways to look at an image -------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=900)


@cache
def _read(ref: str, project: str | None = None):
    """The image read in-process (through the layer cache of this test session, which the CLI shares)."""
    source = open_source(ref)
    try:
        image = read_image(source, cache=LayerCache())
    finally:
        source.close()
    return image, analyse_python(image, project)


@cache
def _reports(ref: str, workdir: str) -> tuple[dict, str, str, str]:
    """The JSON report, its Markdown and HTML, and the text summary, each from its own `uvscope` run."""
    cwd = Path(workdir)
    runs = [_cli("report", ref, "--format", fmt, cwd=cwd) for fmt in ("json", "md", "html")]
    runs.append(_cli("open", ref, "--summary", cwd=cwd))
    for run in runs:
        assert run.returncode == 0, run.stderr
    doc = json.loads(runs[0].stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc, runs[1].stdout, runs[2].stdout, runs[3].stdout


@cache
def _layer_truth(ref: str, folder: str) -> list[tuple[int, int]]:
    """(content bytes, files) of each layer, from `docker save` read with tarfile: regular files' sizes,
    and entries that are neither folders nor whiteouts."""
    archive = save_image(ref, Path(folder) / (re.sub(r"[^a-z0-9]+", "-", ref) + ".tar"))
    result = []
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        for name in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(name)) as layer:
                members = [m for m in layer.getmembers() if not PurePosixPath(m.name).name.startswith(".wh.")]
                result.append(
                    (sum(m.size for m in members if m.isreg()), sum(1 for m in members if not m.isdir() and m.name not in (".", "./")))
                )
    return result


@cache
def _dist_truth(ref: str) -> dict[str, int]:
    """Canonical name -> bytes, as Python inside the container sees the venv's distributions."""
    seen = json.loads(docker("run", "--rm", "--network", "none", "--entrypoint", VENV_PYTHON, ref, "-c", TRUTH).stdout)
    return {key.split("|")[1]: value for key, value in seen.items() if key.startswith("/app/.venv/")}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> str:
    """A folder without a uv.lock: every image is compared with its own."""
    return str(tmp_path_factory.mktemp("one-figure"))


@pytest.fixture(scope="module")
def sci_image(engine) -> str:
    """numpy + scipy + pandas installed in one `uv sync` layer."""
    return build_fixture("sci")


@pytest.fixture(scope="module")
def shared_workspace(engine, tmp_path_factory) -> tuple[str, Path]:
    """The workspace fixture plus a member `analytics` (first by name) that also needs six, built with `uv sync --package api`:
    six is then needed by two members, but only one of them is in the image."""
    folder = tmp_path_factory.mktemp("shared-workspace") / "workspace"
    shutil.copytree(IMAGES / "workspace", folder)
    member = folder / "packages" / "analytics"
    (member / "src" / "analytics").mkdir(parents=True)
    (member / "src" / "analytics" / "__init__.py").write_text("")
    (member / "pyproject.toml").write_text(
        (folder / "packages" / "worker" / "pyproject.toml").read_text().replace('name = "worker"', 'name = "analytics"')
        .replace('dependencies = ["idna>=3.4"]', 'dependencies = ["six>=1.16"]')
    )
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "COPY packages/worker/pyproject.toml packages/worker/pyproject.toml\n",
            "COPY packages/worker/pyproject.toml packages/worker/pyproject.toml\n"
            "COPY packages/analytics/pyproject.toml packages/analytics/pyproject.toml\n",
        )
    )
    subprocess.run([uv_binary(), "lock", "-q"], cwd=folder, check=True, capture_output=True, timeout=600)
    return build_fixture("shared-workspace", folder=folder), folder


@pytest.fixture(scope="module")
def compiled_tags(engine, tmp_path_factory) -> tuple[str, str]:
    """The tags fixture with `UV_COMPILE_BYTECODE=1`, then the same with only the project's version bumped."""
    refs = []
    for version in ("0.1.0", "0.1.1"):
        folder = tmp_path_factory.mktemp(f"compiled-{version}") / "project"
        shutil.copytree(IMAGES / "tags", folder)
        dockerfile = folder / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace("ENV SSL_CERT_FILE=", "ENV UV_COMPILE_BYTECODE=1 SSL_CERT_FILE="))
        if version != "0.1.0":
            pyproject = folder / "pyproject.toml"
            pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', f'version = "{version}"'))
            subprocess.run([uv_binary(), "lock", "-q"], cwd=folder, check=True, capture_output=True, timeout=600)
            # A tar stores whole seconds: two builds of the same packages within one second make the same
            # dependency layer, byte for byte, and nothing would be re-shipped. Build the bump a second later.
            time.sleep(1.1)
        refs.append(build_fixture(f"compiled-tags-{version}", folder=folder))
    return refs[0], refs[1]


IMAGE_FIXTURES = ["layers_image", "numpy_image", "workspace_image", "sci_image"]


# -- the image: size, files, efficiency (items 4, 5, 6) --------------------------------------


@pytest.mark.parametrize("fixture", IMAGE_FIXTURES)
def test_image_size_files_and_efficiency_agree_everywhere(request, fixture, workdir, tmp_path_factory):
    ref = request.getfixturevalue(fixture)
    truth = _layer_truth(ref, str(tmp_path_factory.getbasetemp()))
    doc, markdown, html, summary = _reports(ref, workdir)
    image, python = _read(ref)
    total = sum(nbytes for nbytes, _ in truth)

    # Size: one definition, the sum of the layers' contents, in every view.
    assert doc["image"]["size_bytes"] == image.size_bytes == total
    assert [layer["size_bytes"] for layer in doc["layers"]] == [nbytes for nbytes, _ in truth]
    shown = size(total)
    assert f"**{shown}** in {len(truth)} layers" in markdown
    assert f"size <b>{shown}</b>" in html
    assert f"size {shown} " in summary.splitlines()[1]
    assert status_line(image, python).startswith(f"{shown} in {len(truth)} layers")

    # Files: entries that are not folders, the same count in the report, its Markdown, the summary and the Files view.
    files = [count for _, count in truth]
    assert [layer["file_count"] for layer in doc["layers"]] == files
    assert doc["image"]["file_count"] == sum(files)
    for layer in doc["layers"]:
        assert layer["added"]["count"] + layer["modified"]["count"] == layer["file_count"]
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| (\d+) \| ", markdown, re.MULTILINE)
    assert [int(count) for _, count in rows] == files
    summary_counts = [int(m) for m in re.findall(r"^\s*\d+\s+\S+ \S+\s+(\d+) files?\b", summary, re.MULTILINE)]
    assert summary_counts == files
    for index, (nbytes, layer_files) in enumerate(truth):
        alone = layer_tree(image, python, index, cumulative=False)
        assert (alone.size, alone.file_count()) == (nbytes, layer_files)
    everything = layer_tree(image, python, len(truth) - 1, cumulative=True)
    visible = [v.entry for v in image.files.values() if v.entry.kind != "dir"]
    assert everything.file_count() == len(visible) and everything.size == sum(e.size for e in visible)

    # Efficiency: one rendering, never 100% while anything is wasted.
    shown_efficiency = percent(doc["image"]["efficiency"])
    assert f"efficiency **{shown_efficiency}**" in markdown
    assert f"efficiency (dive) <b>{shown_efficiency}</b>" in html
    assert f"efficiency {shown_efficiency} " in summary
    assert f"efficiency {shown_efficiency}," in status_line(image, python)
    if doc["image"]["wasted_bytes"] or doc["image"]["reclaimable_bytes"] or doc["image"]["efficiency"] < 1:
        assert "100.00%" not in (markdown + html + summary + status_line(image, python))


def test_percent_never_rounds_to_a_whole():
    assert percent(1.0) == "100.00%" and percent(0.0) == "0.00%"
    assert percent(0.99996) == ">99.99%" and percent(0.9996) == "99.96%"
    assert percent(0.00004) == "<0.01%"


def test_schema_types_counts_as_counts_and_sizes_as_bytes():
    """Every field is typed as what it is: counts of things are `count`, sizes are `bytes`, never the other way."""
    counts = {"file_count", "entry_count", "count", "folders", "copies", "files"}
    found: dict[str, set[str]] = {"count": set(), "bytes": set()}

    def walk(node, name=""):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.endswith("/count"):
                found["count"].add(name)
            elif ref.endswith("/bytes"):
                found["bytes"].add(name)
            for key, value in node.items():
                walk(value, key if key not in ("properties", "items", "patternProperties") else name)
        elif isinstance(node, list):
            for value in node:
                walk(value, name)

    walk(SCHEMA)
    assert counts <= found["count"] | {"count"}
    assert not counts & found["bytes"], counts & found["bytes"]
    assert all(name.endswith("bytes") or name in ("^[0-9]+$",) for name in found["bytes"]), found["bytes"]
    assert "packages" in found["count"] and "packages" not in found["bytes"]


# -- which member, and closures over what it installs (items 2, 3) ---------------------------


def _package_in_dockerfile(folder: Path) -> str:
    """The member the fixture's Dockerfile builds, read with a plain regex (not uvscope's parser)."""
    return re.findall(r"uv sync .*--package (\S+)", (folder / "Dockerfile").read_text())[-1]


def test_workspace_member_is_one_decision_everywhere(shared_workspace, workdir):
    ref, folder = shared_workspace
    expected = _package_in_dockerfile(folder)
    doc, markdown, html, _ = _reports(ref, workdir)
    image, python = _read(ref)
    match = python.lock
    assert sorted(match.lock.members)[0] != expected  # the first member by name is not the image's
    assert doc["lock"]["project"] == match.member == expected
    # Inferred from what is installed alone (no hint), the same member.
    assert choose_member(match.lock, match.sizes) == expected
    assert {closure["member"] for closure in doc["lock"]["closures"]} == {expected}
    # optimize decides with the same function (its Dockerfile names the member).
    from uvscope.analysis.plan.build_shape import ProjectDockerfile
    from uvscope.analysis.plan.optimize_inputs import choose_member as optimize_member
    from uvscope.analysis.plan.project_build import member_paths

    docker = ProjectDockerfile((folder / "Dockerfile").read_text())
    assert optimize_member(match.lock, member_paths(str(folder), match.lock), None, docker) == expected
    # A member the image does not have is never blamed: only the chosen member's dependencies are weighed.
    findings = find_problems(image, python)
    assert not any(member in finding.title for finding in findings for member in match.lock.members if member != expected)


def test_closure_sharing_counts_only_the_member_in_the_image(shared_workspace, workdir):
    """six is needed by api (in the image) and by analytics (not in it): for this image it is api's alone."""
    ref, folder = shared_workspace
    truth = _dist_truth(ref)
    assert "analytics" not in truth and "six" in truth  # the sibling is not installed, six is
    doc, markdown, html, _ = _reports(ref, workdir)
    image, python = _read(ref)
    six_report = next(p for p in doc["packages"] if p["name"] == "six")["closure"]
    assert six_report["bytes"] == six_report["exclusive_bytes"] == truth["six"]
    row = next(r for r in package_rows(image, python) if r.name == "six")
    assert (row.closure_bytes, row.exclusive_bytes, row.shared_bytes) == (truth["six"], truth["six"], 0)
    # The grouping editor's cards and preview move exactly six's bytes.
    match = python.lock
    card = next(item for item in items_for(match.lock, match.sizes, match.member) if item.name == "six")
    assert card.closure_bytes == truth["six"]
    moved = plan_layers(Grouping((Group("heavy", ("six",)),)), match.lock, match.sizes, match.member)[0]
    assert moved.packages == ("six",) and moved.bytes == truth["six"]
    assert "| `six` | " in markdown and size(truth["six"]) in markdown.split("| `six` | ", 1)[1].split("\n", 1)[0]


# -- sizes of sets of packages: the union of their closures (item 11) -------------------------


def test_heavy_finding_preview_and_suggestion_weigh_the_union(sci_image, workdir):
    doc, markdown, html, _ = _reports(sci_image, workdir)
    image, python = _read(sci_image)
    truth = _dist_truth(sci_image)
    match = python.lock
    finding = next(f for f in doc["findings"] if f["id"] == "heavy-layer-shared")
    names = re.search(r"--group heavy=([\w,-]+)", finding["fix"]).group(1).split(",")
    closures = {c["name"]: set(c["packages"]) for c in doc["lock"]["closures"]}
    union = set().union(*(closures[name] for name in names)) - set(match.lock.members)
    assert len(names) > 1 and sum(len(closures[n]) for n in names) > len(union)  # the closures do overlap
    expected = sum(truth.get(name, 0) for name in union)
    assert finding["bytes"] == expected
    assert finding["title"].startswith(size(expected) + " of heavy dependencies")
    # The same figure in the Markdown and HTML findings, the grouping preview and the suggestion.
    assert f"**high** {md_prose(finding['title'])}" in markdown and html_prose(finding["title"]) in html
    grouping = Grouping((Group("heavy", tuple(names)),))
    assert plan_layers(grouping, match.lock, match.sizes, match.member)[0].bytes == expected
    assert {layer.name: layer.bytes for layer in preview(grouping, match.lock, match.sizes, match.member).layers}["heavy"] == expected
    suggested = suggest(match.lock, match.sizes, match.member)
    assert set(suggested.groups[0].packages) == set(names)
    # And it is no more than what the sync layer really holds.
    layer = max(doc["layers"], key=lambda layer: layer["size_bytes"] if "uv sync" in layer["created_by"] else 0)
    assert finding["bytes"] <= layer["size_bytes"]


# -- diff: identical content and re-shipped packages (items 1, 4) ----------------------------


def _check_diff(a_ref: str, b_ref: str, workdir: str) -> dict:
    a, pa = _read(a_ref)
    b, pb = _read(b_ref)
    doc = diff_images(a, pa, b, pb)
    result = _cli("diff", a_ref, b_ref, "--format", "json", cwd=Path(workdir))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == doc
    truth_b = _dist_truth(b_ref)
    reshipped = doc["packages"]["reinstalled_identical"]
    identical = doc["identical_content"]
    # Re-shipped identical packages: all of each one's bytes (as Python sees them) are content A had.
    assert reshipped
    for package in reshipped:
        assert package["bytes"] == truth_b[package["name"]]
    assert identical["reinstalled_identical_bytes"] == sum(p["bytes"] for p in reshipped)
    assert identical["bytes"] == sum(layer["identical_content_bytes"] for layer in doc["layers"] if layer["status"] == "new")
    assert identical["bytes"] == identical["reinstalled_identical_bytes"] + identical["other_packages_bytes"] + identical["outside_packages_bytes"]
    # Image sizes: the report's, in the document, its Markdown and the diff session's summary.
    for side, ref in (("a", a_ref), ("b", b_ref)):
        assert doc[side]["size_bytes"] == _reports(ref, workdir)[0]["image"]["size_bytes"]
    markdown = diff_markdown(doc)
    summary = diff_summary(doc)
    assert f"image {size(doc['a']['size_bytes'])} → {size(doc['b']['size_bytes'])}" in markdown
    assert f"image {size(doc['a']['size_bytes'])} → {size(doc['b']['size_bytes'])}" in summary
    assert f"**{size(identical['bytes'])}** is content A already had" in markdown
    assert f"{size(identical['reinstalled_identical_bytes'])} in the {count(len(reshipped), 'package')} re-shipped identical" in markdown
    assert f"{len(reshipped)} packages, {size(identical['reinstalled_identical_bytes'])}: same version" in markdown
    assert f"{size(identical['bytes'])} of it is content A already had, {size(identical['reinstalled_identical_bytes'])}" in summary
    return doc


def test_diff_identical_content_agrees_with_reshipped_packages(tagged_images, workdir):
    bump = _check_diff(tagged_images["v1"], tagged_images["v2"], workdir)
    assert {p["name"] for p in bump["packages"]["reinstalled_identical"]} == set(_dist_truth(tagged_images["v1"])) - {"tags-app"}
    _check_diff(tagged_images["v1"], tagged_images["v3"], workdir)


def test_diff_counts_bytecode_of_identical_sources(compiled_tags, workdir):
    a_ref, b_ref = compiled_tags
    image, _ = _read(b_ref)
    assert any(path.endswith(".pyc") and "/six" not in path and "site-packages/idna/" in path for path in image.files)
    doc = _check_diff(a_ref, b_ref, workdir)
    unchanged = set(_dist_truth(a_ref)) - {"tags-app"}
    assert {p["name"] for p in doc["packages"]["reinstalled_identical"]} == unchanged
    assert doc["packages"]["reinstalled_changed"] == []


# -- history: the same sizes as report and diff (item 4, 10) ----------------------------------


def test_history_sizes_are_the_reports_and_say_when_they_are_the_engines(tagged_images, workdir):
    refs = [tagged_images[tag] for tag in ("v1", "v2", "v3")]
    for ref in refs:
        _reports(ref, workdir)  # read once: the layers are cached
    result = _cli("history", "uvscope-test/tags", "--tags", "v1,v2,v3", "--format", "json", cwd=Path(workdir))
    assert result.returncode == 0, result.stderr
    images = {entry["ref"]: entry for entry in json.loads(result.stdout)["images"]}
    for ref in refs:
        assert images[ref]["size_source"] == "layers"
        assert images[ref]["size_bytes"] == _reports(ref, workdir)[0]["image"]["size_bytes"]
    diff = diff_images(*_read(refs[0]), *_read(refs[1]))
    assert images[refs[1]]["new_bytes"] == diff["pull_bytes"]
    markdown = _cli("history", "uvscope-test/tags", "--tags", "v1,v2,v3", "--print", cwd=Path(workdir)).stdout
    assert f"| `{refs[1]}` | " in markdown and f"| {size(images[refs[1]]['size_bytes'])} | {size(diff['pull_bytes'])} |" in markdown
    # Without the cache: the engine's figures, marked as such, within a few kB.
    engine = _cli("history", "uvscope-test/tags", "--tags", "v1,v2,v3", "--no-cache", "--print", cwd=Path(workdir)).stdout
    assert "~" in engine and "the engine's own layer sizes" in engine
    raw = json.loads(_cli("history", "uvscope-test/tags", "--no-cache", "--format", "json", cwd=Path(workdir)).stdout)
    for entry in raw["images"]:
        if entry["ref"] in images:
            assert entry["size_source"] == "engine"
            assert abs(entry["size_bytes"] - images[entry["ref"]]["size_bytes"]) <= 64_000


def test_history_says_what_it_left_out(tagged_images, workdir):
    result = _cli("history", "uvscope-test/tags", "--tags", "v1,v9", "--print", cwd=Path(workdir))
    assert result.returncode == 0 and tagged_images["v1"] in result.stdout
    assert "no tag v9 of uvscope-test/tags" in result.stderr
    only_lock = _cli("history", "--lock-history", str(ROOT), "--print", cwd=Path(workdir))
    assert only_lock.returncode == 0, only_lock.stderr
    assert "## Image history" not in only_lock.stdout and "## uv.lock history" in only_lock.stdout
    assert "no images given" in only_lock.stderr


# -- project and platform mismatches are said, once (items 8, 9, 10) -------------------------


def test_image_of_another_project_is_said_and_its_own_lock_used(tagged_images, workdir):
    other = IMAGES / "numpy"  # a project the tags image was not built from
    result = _cli("report", tagged_images["v1"], "--project", str(other), cwd=Path(workdir))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "was not built from" in lines[0]
    doc = json.loads(result.stdout)
    assert doc["lock"]["source"] == "image:/app/uv.lock"
    assert all((p["lock"] or {}).get("status") == "match" for p in doc["packages"])
    assert not any(f["id"] == "lock-mismatch" for f in doc["findings"])
    optimize = _cli("optimize", "--project", str(other), "--image", tagged_images["v1"], "--suggest", cwd=Path(workdir))
    assert optimize.returncode == 2 and len(optimize.stderr.strip().splitlines()) == 1 and "was not built from" in optimize.stderr


def test_project_without_lock_is_a_warning_and_the_image_is_read(numpy_image, workdir, tmp_path):
    result = _cli("report", numpy_image, "--project", str(tmp_path), cwd=Path(workdir))
    assert result.returncode == 0, result.stderr
    assert "no uv.lock in" in result.stderr and "compared with the image's own uv.lock" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["lock"]["source"] == "image:/app/uv.lock" and doc["packages"]
    assert doc["image"]["size_bytes"] == _reports(numpy_image, workdir)[0]["image"]["size_bytes"]


def test_platform_the_archive_lacks_is_said(numpy_image, workdir, tmp_path_factory):
    archive = save_image(numpy_image, Path(tmp_path_factory.getbasetemp()) / "numpy-platform.tar")
    have = json.loads(docker("image", "inspect", numpy_image).stdout)[0]
    have = f"{have['Os']}/{have['Architecture']}"
    wanted = "linux/arm64" if have != "linux/arm64" else "linux/amd64"
    result = _cli("report", str(archive), "--platform", wanted, cwd=Path(workdir))
    assert result.returncode == 0, result.stderr
    assert f"--platform {wanted}" in result.stderr and f"holds only {have}" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["image"]["platform"] == have and any(wanted in w for w in doc["warnings"])
