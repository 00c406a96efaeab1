"""Reports in JSON (validated against the committed schema), Markdown and HTML (in headless Chromium), and the CI gate."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from sessionimage import session_archive

SCHEMA = json.loads((Path(__file__).parents[2] / "analysis" / "output" / "report.schema.json").read_text())


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture
def archive(tmp_path) -> Path:
    path = tmp_path / "svc.tar"
    path.write_bytes(session_archive())
    return path


def _validate(report: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_json_report_validates_and_has_findings(archive, tmp_path):
    report = json.loads(_cli("report", str(archive), cwd=tmp_path).stdout)
    _validate(report)
    ids = {finding["id"] for finding in report["findings"]}
    assert {"dev-packages", "cache-in-image", "heavy-layer-shared", "deleted-still-shipped"} <= ids
    fixes = {finding["id"]: finding["fix"] for finding in report["findings"]}
    assert "--no-dev" in fixes["dev-packages"] and "UV_NO_DEV=1" in fixes["dev-packages"]
    assert "--mount=type=cache" in fixes["cache-in-image"]
    assert "uvscope optimize --group heavy=numpy" in fixes["heavy-layer-shared"]


@pytest.mark.engine
@pytest.mark.parametrize("fixture", ["layers_image", "numpy_image", "mixed_image", "workspace_image"])
def test_json_reports_of_real_images_validate(request, fixture, tmp_path):
    result = _cli("report", request.getfixturevalue(fixture), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _validate(json.loads(result.stdout))


def test_markdown_report_for_pull_requests(archive, tmp_path):
    text = _cli("report", str(archive), "--format", "md", cwd=tmp_path).stdout
    assert text.startswith("## uvscope: `") and "svc.tar`" in text.splitlines()[0]
    assert "### Findings" in text and "*Fix:*" in text
    assert "| # | size | files | command |" in text and "| ---: | ---: | ---: | --- |" in text
    assert "### Largest packages" in text and "| `numpy` | `2.1.0` |" in text
    assert "<details><summary>Waste:" in text and "</details>" in text


def _chromium(*args: str, profile: Path) -> str:
    browser = shutil.which("chromium")
    assert browser, "Debian's chromium is needed (tests/setup-engine.sh installs it)"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    result = subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)
    return result.stdout


def test_html_report_loads_in_chromium_with_charts_and_no_errors(archive, tmp_path):
    page = tmp_path / "report.html"
    result = _cli("report", str(archive), "--format", "html", "-o", str(page), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?https?:""", html), "the page must not load anything from the network"
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert 'data-errors="0"' in dom
    assert 'data-ready="1"' in dom
    charts = int(re.search(r'data-charts="(\d+)"', dom).group(1))
    assert charts >= 10  # bars of the three charts
    assert "5 of 5 packages" in dom  # the table script ran
    shot = tmp_path / "report.png"
    _chromium("--window-size=1200,1400", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile2")
    assert shot.stat().st_size > 10_000


RULES_FAIL = """[tool.uvscope.ci]
lowest-efficiency = 0.95
max-image-size = "1MB"
forbid-dev-packages = true
max-cache-bytes = "100kB"
"""
RULES_PASS = """[tool.uvscope.ci]
lowest-efficiency = 0.5
highest-wasted-bytes = "20MB"
highest-user-wasted-percent = 0.5
max-layer-size = "100MB"
max-image-size = "1GB"
require-lock-match = true
heavy-layer-isolated = "disabled"
"""


def test_ci_gate_fails_with_exit_1_and_passes_with_exit_0(archive, tmp_path):
    (tmp_path / "pyproject.toml").write_text(RULES_FAIL)
    failed = _cli("report", str(archive), "--ci", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    lines = failed.stdout.splitlines()
    assert any(line.startswith("PASS  lowest-efficiency") for line in lines)
    assert any(line.startswith("FAIL  max-image-size") for line in lines)
    assert any(line.startswith("FAIL  forbid-dev-packages") and "pytest" in line for line in lines)
    assert any(line.startswith("FAIL  max-cache-bytes") for line in lines)
    config = tmp_path / "rules.toml"
    config.write_text(RULES_PASS)
    passed = _cli("report", str(archive), "--ci", "--ci-config", str(config), cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert any(line.startswith("SKIP  heavy-layer-isolated") for line in passed.stdout.splitlines())
    assert passed.stdout.splitlines()[-1].startswith("PASS")


def test_ci_gate_errors_exit_2_with_one_line(archive, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nlowest-efficency = 0.9\n')
    bad = _cli("report", str(archive), "--ci", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown CI rule(s)" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = _cli("report", "uvscope-test/never:there", "--ci", cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
