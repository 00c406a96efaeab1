"""dive's conventions in the CI gate and sources (issue 15): default rules, `.dive-ci` YAML with camelCase
names, CI results in the JSON report, base-image layers left out, a fix per cache kind, dive's source names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from tarbuilder import docker_save_legacy, layer_tar

SCHEMA = json.loads((Path(__file__).parents[1] / "analysis" / "output" / "report.schema.json").read_text())


def _cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def apt_base(tmp_path) -> Path:
    """Apt lists in layer 0 (the base image's), an application layer with a little waste above it."""
    base = layer_tar(("file", "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease", b"l" * 50_000), ("file", "etc/os-release", b"x"))
    app = layer_tar(("file", "app/main.py", b"print()\n" * 100), ("file", "app/tmp.bin", b"t" * 3_000))
    cleanup = layer_tar(("file", "app/.wh.tmp.bin", b""))
    path = tmp_path / "apt.tar"
    path.write_bytes(docker_save_legacy([base, app, cleanup], commands=["ADD rootfs.tar / # buildkit", "COPY . /app # buildkit", "RUN rm /app/tmp.bin # buildkit"]))
    return path


def _results(stdout: str) -> dict[str, str]:
    return {line[6:].split(":")[0]: line[:4] for line in stdout.splitlines() if line[:4] in ("PASS", "FAIL", "SKIP") and line[4:6] == "  "}


def test_no_configuration_applies_dives_defaults_and_says_so(apt_base, tmp_path):
    report = json.loads(_cli("report", str(apt_base), cwd=tmp_path).stdout)["image"]
    result = _cli("report", str(apt_base), "--ci", cwd=tmp_path)
    assert "dive's default rules: lowest-efficiency 0.9, highest-wasted-bytes disabled, highest-user-wasted-percent 0.1" in result.stdout
    results = _results(result.stdout)
    assert results["highest-wasted-bytes"] == "SKIP"
    assert results["lowest-efficiency"] == ("PASS" if report["efficiency"] >= 0.9 else "FAIL")
    assert results["highest-user-wasted-percent"] == ("PASS" if report["user_wasted_percent"] <= 0.1 else "FAIL")
    assert result.returncode == (1 if "FAIL" in results.values() else 0)


def test_dive_ci_yaml_with_camel_case_names(apt_base, tmp_path):
    report = json.loads(_cli("report", str(apt_base), cwd=tmp_path).stdout)["image"]
    config = tmp_path / ".dive-ci"
    config.write_text("rules:\n  lowestEfficiency: 0.0\n  highestWastedBytes: 1GB\n  highestUserWastedPercent: disabled\n")
    passed = _cli("report", str(apt_base), "--ci", "--ci-config", str(config), cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert _results(passed.stdout) == {"lowest-efficiency": "PASS", "highest-wasted-bytes": "PASS", "highest-user-wasted-percent": "SKIP"}
    config.write_text(f"rules:\n  highestWastedBytes: {max(0, report['wasted_bytes'] - 1)}\n")
    failed = _cli("report", str(apt_base), "--ci", "--ci-config", str(config), cwd=tmp_path)
    assert failed.returncode == (1 if report["wasted_bytes"] else 0)
    config.write_text("rules:\n  lowestEfficency: 0.9\n")
    bad = _cli("report", str(apt_base), "--ci", "--ci-config", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "lowest-efficency" in bad.stderr


def test_ci_results_are_in_the_json_report(apt_base, tmp_path):
    out = tmp_path / "report.json"
    result = _cli("report", str(apt_base), "--ci", "--format", "json", "-o", str(out), cwd=tmp_path)
    report = json.loads(out.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert {r["rule"]: r["status"] for r in report["ci"]["results"]} == _results(result.stdout)
    assert report["ci"]["passed"] == (result.returncode == 0)
    assert "dive's default rules" in report["ci"]["origin"]


def test_base_layers_are_left_out_of_the_layer_rules(apt_base, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nmax-cache-bytes = "1kB"\n')
    failed = _cli("report", str(apt_base), "--ci", cwd=tmp_path)
    assert failed.returncode == 1 and _results(failed.stdout)["max-cache-bytes"] == "FAIL"
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nmax-cache-bytes = "1kB"\nbase-layers = 1\n')
    passed = _cli("report", str(apt_base), "--ci", cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout
    assert "base image's are left out" in passed.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.uvscope.ci]\nbase-layers = "one"\n')
    assert _cli("report", str(apt_base), "--ci", cwd=tmp_path).returncode == 2


def test_a_cache_finding_gets_the_fix_of_its_own_tool(apt_base, tmp_path):
    report = json.loads(_cli("report", str(apt_base), cwd=tmp_path).stdout)
    finding = next(f for f in report["findings"] if f["id"] == "cache-in-image")
    assert "apt" in finding["fix"] and "/var/lib/apt/lists" in finding["fix"]
    assert ".cache/uv" not in finding["fix"] and "uv sync" not in finding["fix"]


def test_source_docker_archive_like_dive(apt_base, tmp_path):
    named = _cli("report", str(apt_base), "--source", "docker-archive", cwd=tmp_path)
    prefixed = _cli("report", f"docker-archive:{apt_base}", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["layers"] == json.loads(prefixed.stdout)["layers"]


def test_podman_without_a_socket_says_where_it_looked(tmp_path):
    result = _cli("report", "--source", "podman", "app:1", cwd=tmp_path, env={"XDG_RUNTIME_DIR": str(tmp_path), "CONTAINER_HOST": ""})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no podman socket" in lines[0] and str(tmp_path / "podman" / "podman.sock") in lines[0]


@pytest.mark.engine
def test_podman_source_finds_the_socket(engine, layers_image, tmp_path):
    """A Docker-API socket where podman's would be (podman speaks the same API) is found and read."""
    (tmp_path / "podman").mkdir()
    (tmp_path / "podman" / "podman.sock").symlink_to("/var/run/docker.sock")
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "CONTAINER_HOST": ""}
    through_podman = _cli("report", "--source", "podman", layers_image, "--no-cache", cwd=tmp_path, env=env)
    assert through_podman.returncode == 0, through_podman.stderr
    direct = _cli("report", "--source", "docker", layers_image, "--no-cache", cwd=tmp_path)
    assert json.loads(through_podman.stdout)["layers"] == json.loads(direct.stdout)["layers"]
