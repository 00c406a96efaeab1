"""An untrusted image never drives the user's terminal or the report's reader (issue 22).

The hostile images (`tests/hostile/make_hostile.py`) carry terminal escapes (title, clear
screen, OSC 8 links, OSC 52 clipboard writes, 8-bit CSI), bidi overrides, Textual markup,
HTML, Markdown and bytes that are not UTF-8 in their layer commands, file names, labels,
env, platform, dist-info files and uv.lock. For every output the command line writes, no
control character reaches the terminal (only newlines and tabs), the Markdown parses to the
table cells it should with no HTML and no link, JSON keeps the exact strings and is valid
Unicode, and the session shows each escape as text in every view. The HTML report is checked
in headless Chromium's DOM; the session in a real terminal (`test_untrusted_terminal.py`).
"""

from __future__ import annotations

import base64
import json
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

sys.path.insert(0, str(Path(__file__).parent / "hostile"))

import make_hostile as hostile  # noqa: E402

from uvscope.analysis.untrusted import is_shown, json_safe, md_code, md_prose, md_text, quoted, shown, shown_lines  # noqa: E402

CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
"""What a terminal could take as a control: C0 but newline and tab, DEL, C1 (as UTF-8), line separators, bidi."""


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    return hostile.write_variants(tmp_path_factory.mktemp("hostile"))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, timeout=120, cwd=cwd)


def _clean(output: bytes, what: str) -> str:
    found = CONTROL.findall(output)
    assert not found, f"{what}: control characters reached the terminal: {found[:5]}"
    return output.decode("utf-8")  # strictly UTF-8: a name that is not UTF-8 is never written as raw bytes


# -- the functions every output goes through ---------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_shown_leaves_no_control_and_is_idempotent(text):
    once = shown(text)
    assert is_shown(once) and "\n" not in once and "\t" not in once
    assert shown(once) == once
    assert not CONTROL.search(once.encode("utf-8"))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_shown_lines_keeps_lines_only(text):
    out = shown_lines(text)
    assert not CONTROL.search(out.encode("utf-8").replace(b"\r\n", b"\n"))
    assert out.count("\n") == text.count("\n")


def test_shown_spells_each_control_visibly():
    assert shown(hostile.TITLE) == "\\x1b]0;pwned\\x07"
    assert shown("a\nb\tc\x9b") == "a\\nb\\tc\\x9b"
    assert shown(hostile.NOT_UTF8) == "caf\\xe9\\xff"
    assert shown("\u202eexe") == "\\u202eexe"
    assert shown("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    assert shown_lines("a\r\nb\rc") == "a\r\nb\\rc"


MD = MarkdownIt("commonmark").enable("table")


def _inline_tokens(markdown: str):
    for token in MD.parse(markdown):
        yield token
        yield from token.children or []


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_a_code_span_holds_any_value_in_a_table_cell(value):
    table = f"| a | b |\n| --- | --- |\n| {md_code(value, in_table=True)} | end |\n"
    tokens = list(_inline_tokens(table))
    cells = [t for t in tokens if t.type == "td_open"]
    assert len(cells) == 2
    codes = [t for t in tokens if t.type == "code_inline"]
    shown_value = shown(value)
    if shown_value.strip(" "):
        assert len(codes) == 1
        assert codes[0].content.strip(" ") == shown_value.strip(" ")
    assert not any(t.type in {"html_inline", "html_block", "link_open", "image"} for t in tokens)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_markdown_text_forms_no_markup(value):
    table = f"| a | b |\n| --- | --- |\n| {md_text(value)} | end |\n"
    tokens = list(_inline_tokens(table))
    assert len([t for t in tokens if t.type == "td_open"]) == 2
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_inline", "html_block", "link_open", "image", "em_open", "strong_open", "code_inline", "s_open"}


def test_prose_keeps_its_code_parts_whatever_the_values_hold():
    sentence = f"needs {quoted(hostile.MARKDOWN)}, {quoted(hostile.HTML)} and {quoted('a`b')}."
    tokens = list(_inline_tokens(md_prose(sentence)))
    assert [t.content for t in tokens if t.type == "code_inline"] == [shown(hostile.MARKDOWN).replace("`", "'"), hostile.HTML, "a'b"]
    assert not any(t.type in {"html_inline", "html_block", "link_open", "image"} for t in tokens)


def test_json_keeps_exact_strings_and_the_bytes_of_a_name_that_is_not_utf8():
    doc = json_safe({"path": f"/app/{hostile.NOT_UTF8}.txt", "command": hostile.COMMAND, "list": [hostile.NOT_UTF8]})
    assert doc["command"] == hostile.COMMAND
    assert doc["path"] == "/app/caf\ufffd\ufffd.txt"
    assert base64.b64decode(doc["path_base64"]) == b"/app/caf\xe9\xff.txt"
    assert doc["list"] == ["caf\ufffd\ufffd"]
    json.dumps(doc).encode("utf-8")  # no lone surrogate left


# -- every output of the command line ----------------------------------------------------

VARIANTS = ["docker-save", "oci-layout", "oci-tar"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_summary_and_ci_show_every_escape_as_text(images, variant, tmp_path):
    for args in ([str(images[variant]), "--summary"], ["report", str(images[variant]), "--ci"]):
        result = _cli(*args, cwd=tmp_path)
        _clean(result.stdout, f"{args} stdout")
        err = _clean(result.stderr, f"{args} stderr")
        assert result.returncode in (0, 1), err
        assert "Traceback" not in err
    summary = _clean(_cli(str(images[variant]), "--summary", cwd=tmp_path).stdout, "summary")
    assert shown(hostile.TITLE + hostile.CLEAR) + " uv sync " + shown(hostile.LINK)[:20] in summary
    assert shown(hostile.PACKAGE_NAME) in summary
    assert "linux/amd64" + shown(hostile.TITLE) in summary  # the platform comes from the config


@pytest.mark.parametrize("variant", VARIANTS)
def test_json_report_is_exact_ascii_and_valid_unicode(images, variant, tmp_path):
    result = _cli("report", str(images[variant]), "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and not CONTROL.search(result.stdout)
    assert b"\\ud8" not in result.stdout.lower() and b"\\udc" not in result.stdout.lower()  # no lone surrogate
    doc = json.loads(result.stdout)
    assert [layer["created_by"] for layer in doc["layers"]] == hostile.COMMANDS
    assert {p["name"]: p["version"] for p in doc["packages"]}[hostile.PACKAGE_NAME] == hostile.PACKAGE_VERSION
    assert doc["image"]["platform"].startswith("linux/amd64" + hostile.TITLE)
    largest = {entry["path"]: entry for entry in doc["layers"][2]["added"]["largest"]}
    assert "/" + hostile.FILE_NAMES[0] in largest
    (odd,) = [entry for entry in largest.values() if "path_base64" in entry]
    assert base64.b64decode(odd["path_base64"]) == b"/app/caf\xe9\xff.txt"
    assert odd["path"] == "/app/caf\ufffd\ufffd.txt"


def _tables(markdown: str) -> list[list[int]]:
    """For each table, the cell count of each row (the header's first)."""
    tables, rows, cells = [], None, 0
    for token in MD.parse(markdown):
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close" and rows is not None:
            rows.append(cells)
        elif token.type == "table_close":
            tables.append(rows)
            rows = None
    return tables


def _assert_markdown_is_inert(markdown: str, what: str) -> list:
    tokens = list(_inline_tokens(markdown))
    injected = [t for t in tokens if t.type in {"html_inline", "html_block", "link_open", "image"}]
    assert not injected, f"{what}: markup from the image became elements: {[t.content or t.type for t in injected][:5]}"
    tables = _tables(markdown)
    assert tables, what
    for rows in tables:
        assert len(set(rows)) == 1, f"{what}: a row has other than the header's {rows[0]} cells: {rows}"
    return tokens


@pytest.mark.parametrize("variant", VARIANTS)
def test_markdown_report_renders_to_its_own_cells_only(images, variant, tmp_path):
    result = _cli("report", str(images[variant]), "--format", "md", cwd=tmp_path)
    markdown = _clean(result.stdout, "report md")
    tokens = _assert_markdown_is_inert(markdown, "report md")
    codes = {t.content for t in tokens if t.type == "code_inline"}
    assert shown(hostile.PACKAGE_VERSION) in codes
    assert shown(hostile.MD_VERSION.split("\n")[0]) in codes  # METADATA ends a header at its newline
    assert shown(hostile.MARKUP_VERSION) in codes
    assert any(shown(hostile.TITLE + hostile.CLEAR) in code for code in codes)  # the layer command


def test_diff_outputs_are_inert(images, tmp_path):
    a, b = str(images["docker-save"]), str(images["docker-save-b"])
    markdown = _clean(_cli("diff", a, b, "--format", "md", cwd=tmp_path).stdout, "diff md")
    _assert_markdown_is_inert(markdown, "diff md")
    assert shown(hostile.TITLE) in markdown
    result = _cli("diff", a, b, "--format", "json", cwd=tmp_path)
    assert result.stdout.isascii() and json.loads(result.stdout)["layers"][1]["created_by"] == hostile.COMMAND
    html = _clean(_cli("diff", a, b, "--format", "html", cwd=tmp_path).stdout, "diff html")
    assert "<img" not in html and html.count("<script>") == 1


def _chromium_dom(page: Path, profile: Path) -> str:
    import shutil

    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is needed (tests/setup-engine.sh installs it)"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom",
    ]  # fmt: skip
    return subprocess.run([browser, *flags, page.as_uri()], capture_output=True, text=True, timeout=120).stdout


@pytest.mark.engine  # chromium comes with the engine tests' setup
@pytest.mark.parametrize("kind", ["report", "diff"])
def test_html_has_no_injected_element_in_chromium(images, kind, tmp_path):
    page = tmp_path / f"{kind}.html"
    a = str(images["docker-save"])
    args = ["report", a] if kind == "report" else ["diff", a, str(images["docker-save-b"])]
    result = _cli(*args, "--format", "html", "-o", str(page), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _clean(page.read_bytes(), f"{kind} html")
    dom = _chromium_dom(page, tmp_path / "profile")
    assert "</body>" in dom, "chromium rendered nothing"
    assert "<img" not in dom and "onerror=" not in dom.replace("onerror=alert", "")  # only as escaped text
    assert dom.count("<script") == (2 if kind == "report" else 1)  # the page's own scripts, none from the image
    assert "&lt;img src=x onerror=alert(2)&gt;" in dom  # shown as text
    assert "<a " not in dom


# -- the session: every view, every widget ----------------------------------------------


async def _every_view(ref: str) -> list[str]:
    import html

    sys.path.insert(0, str(Path(__file__).parent))
    from pilot import loaded

    from uvscope.app.app import make_app

    app = make_app(ref)
    texts = []
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await loaded(app, pilot)
        assert screen.error is None, screen.error
        for key in ("1", "2", "3", "4", "5"):
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            svg = app.export_screenshot()
            texts.append(html.unescape("".join(re.findall(r">([^<]*)</text>", svg))))
        texts.append(app.sub_title)
        texts += [f"{n.title} {n.message}" for n in app._notifications]
    return texts


@pytest.mark.parametrize("variant", ["docker-save", "oci-tar"])
async def test_the_session_shows_escapes_as_text_in_every_view(images, variant):
    texts = await _every_view(str(images[variant]))
    for text in texts:
        assert is_shown(text.replace("\n", " ")), f"a control character in a view: {text[:200]!r}"
    layers, packages, files = texts[0], texts[1], texts[2]
    assert shown(hostile.TITLE) in layers
    assert "[@click=app.quit]" in packages  # markup shown as typed, not run
    assert "caf\\xe9\\xff.txt" in files
    assert shown(hostile.TITLE) in texts[5]  # the header's platform


# -- bounds ------------------------------------------------------------------------------

LIMIT_WRAPPER = (
    "import resource,subprocess,sys,time\n"
    "t=time.monotonic();p=subprocess.run(sys.argv[1:],capture_output=True,timeout=120)\n"
    "sys.stdout.write(f'{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {time.monotonic()-t:.1f} {p.returncode}\\n')\n"
    "sys.stdout.buffer.write(p.stderr)\n"
)
LIMIT_MEMORY_MIB = 400
LIMIT_SECONDS = 60


@pytest.fixture(scope="module")
def limit_images(tmp_path_factory):
    return hostile.limit_images(tmp_path_factory.mktemp("limits"))


@pytest.mark.parametrize("name", list(hostile.limit_layers()) + ["gzip-bomb"])
def test_a_hostile_layer_is_read_within_bounds_or_refused_in_one_line(limit_images, name, tmp_path):
    path, outcome = limit_images[name]
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-c", LIMIT_WRAPPER, sys.executable, "-m", "uvscope.app.cli", "report", str(path), "--no-cache", "-o", str(out)],
        capture_output=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    head, _, stderr = result.stdout.partition(b"\n")
    peak_kib, seconds, code = head.split()
    text = _clean(stderr, name)
    assert int(peak_kib) < LIMIT_MEMORY_MIB * 1024, f"{name}: peak memory {int(peak_kib) // 1024} MiB"
    assert float(seconds) < LIMIT_SECONDS, f"{name}: {seconds} s"
    assert "Traceback" not in text and "internal error" not in text, text
    if outcome == "refuse":
        assert int(code) == 2 and len(text.strip().splitlines()) == 1, text
        assert not out.exists()
    else:
        assert int(code) == 0, text
        doc = json.loads(out.read_text())
        if name == "huge-record":
            assert any("RECORD" in warning and "limit" in warning for warning in doc["warnings"]), doc["warnings"]
        if name == "many-entries":
            assert doc["layers"][0]["entry_count"] == 300_001


@pytest.mark.parametrize("name", ["deep", "long-name"])
async def test_the_session_opens_deep_and_long_names(limit_images, name):
    texts = await _every_view(str(limit_images[name][0]))
    assert all(is_shown(text.replace("\n", " ")) for text in texts)


def test_memory_limit_is_what_the_wrapper_measures():
    """The wrapper reads the children's peak (ru_maxrss, KiB on Linux): a child holding 200 MiB is seen as such."""
    code = "b=bytearray(200<<20);b[::4096]=b'x'*len(b[::4096])"
    result = subprocess.run([sys.executable, "-c", LIMIT_WRAPPER, sys.executable, "-c", code], capture_output=True, timeout=60)
    assert int(result.stdout.split()[0]) > 200 * 1024
    assert resource.RUSAGE_CHILDREN is not None


def test_an_error_quoting_the_image_names_it_visibly_in_one_line(tmp_path):
    """A layer that fails its digest is named by its path in the archive: that path is the image's text."""
    from tarbuilder import as_tar, layer_tar

    layer = layer_tar(("file", "a.txt", b"a"))
    member = f"{hostile.TITLE}{hostile.CLEAR}/layer.tar"
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}, "history": [{"created_by": "RUN x"}]}
    ).encode()
    manifest = [{"Config": "config.json", "RepoTags": [f"evil:{hostile.CLIPBOARD}"], "Layers": [member]}]
    archive = tmp_path / "bad-digest.tar"
    archive.write_bytes(as_tar({"config.json": config, "manifest.json": json.dumps(manifest).encode(), member: layer}))
    result = _cli("report", str(archive), "--no-cache", "--format", "json", cwd=tmp_path)
    err = _clean(result.stderr, "error line")
    assert result.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert shown(hostile.TITLE) in err and "digest" in err


async def test_the_files_view_copies_a_path_exactly_as_the_image_names_it(images):
    sys.path.insert(0, str(Path(__file__).parent))
    from pilot import loaded
    from textual.widgets import Tree

    from uvscope.app.app import make_app

    app = make_app(str(images["docker-save"]))
    async with app.run_test(size=(140, 45)) as pilot:
        await loaded(app, pilot)
        await pilot.press("3")
        await pilot.pause()
        tree = app.screen.query_one("#file-tree", Tree)
        stack = [tree.root]
        wanted = None
        while stack and wanted is None:
            node = stack.pop()
            if node.data is not None and node.data.path == hostile.FILE_NAMES[0]:
                wanted = node
            if node.allow_expand and not node.children:
                node.expand()
                await pilot.pause()
            stack.extend(node.children)
        assert wanted is not None, "the hostile file is not in the tree"
        tree.move_cursor(wanted)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "/" + hostile.FILE_NAMES[0]  # the exact name, escapes and all
        message = [n.message for n in app._notifications][-1]
        assert is_shown(message) and shown(hostile.TITLE) in message  # the note about it is shown safely


async def test_the_diff_session_shows_escapes_as_text(images):
    import html

    from uvscope.app.app import make_diff_app

    app = make_diff_app(str(images["docker-save"]), str(images["docker-save-b"]))
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.error is None, app.screen.error
        text = html.unescape("".join(re.findall(r">([^<]*)</text>", app.export_screenshot())))
    assert is_shown(text.replace("\n", " "))
    assert "\\x1b]0;" in text  # the layer commands, cut to their column
