"""`optimize --suggest --history-images REPO`: a repository's tags as the planner's history.

The three tags of the tiny `tags` project (conftest `tagged_images`: v1; v2, the
project's version bumped; v3, v1 plus requests) are listed from the engine
(`uvscope-test/tags`, all its local tags, as `uvscope history` lists them) and
from a loopback registry they are pushed to (`registry://HOST/REPO`). Both must
find the two changes, in creation order, sized by each tag's own distributions,
and give exactly the plan that naming the three images gives.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import harness
import pytest

pytestmark = pytest.mark.engine


def _optimize(project, history: str, cwd) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(project), "--suggest",
         "--image", "uvscope-test/tags:v3", "--history-images", history, "--format", "json"],
        capture_output=True, text=True, cwd=cwd, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _without_labels(document: dict) -> dict:
    """The plan, each step named by its tag only (the engine and the registry spell the references differently)."""
    plan = dict(document["history_plan"])
    plan["steps"] = [{**step, "step": step["step"].rpartition(":")[2]} for step in plan["steps"]]
    return {**document, "history_plan": plan}


def test_a_repositorys_tags_are_the_history_from_the_engine_and_a_registry(tagged_images, registry, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(harness.IMAGES / "tags", project)
    pyproject = project / "pyproject.toml"  # today's project is v3's
    pyproject.write_text(pyproject.read_text().replace('"idna>=3.4"]', '"idna>=3.4", "requests>=2.31"]'))
    subprocess.run([harness.uv_binary(), "lock", "-q"], cwd=project, check=True, capture_output=True, timeout=600)

    named = _optimize(project, ",".join(tagged_images[tag] for tag in ("v3", "v1", "v2")), tmp_path)
    engine = _optimize(project, "uvscope-test/tags", tmp_path)
    plan = engine["history_plan"]
    # v1 -> v2 bumped only the project; v2 -> v3 brought requests and its closure
    assert [step["step"] for step in plan["steps"]] == ["uvscope-test/tags:v2", "uvscope-test/tags:v3"]
    assert [step["touched"] for step in plan["steps"]] == [
        ["tags-app"],
        ["certifi", "charset-normalizer", "requests", "tags-app", "urllib3"],
    ]
    assert engine == named
    assert engine["groups"] and plan["total_bytes"]["plan"] < plan["total_bytes"]["today"]
    print("\n".join(plan["explanation"]), plan["total_bytes"], [(s["today_bytes"], s["plan_bytes"]) for s in plan["steps"]])

    for tag in ("v1", "v2", "v3"):
        registry.push(tagged_images[tag], f"uvscope/plan-tags:{tag}")
    from_registry = _optimize(project, f"registry://{registry.host}/uvscope/plan-tags", tmp_path)
    assert [step["step"] for step in from_registry["history_plan"]["steps"]] == [
        f"registry://{registry.host}/uvscope/plan-tags:{tag}" for tag in ("v2", "v3")
    ]
    assert _without_labels(from_registry) == _without_labels(engine)


def test_a_repository_with_one_tag_or_none_says_so(tagged_images, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(harness.IMAGES / "tags", project)
    harness.docker("tag", tagged_images["v1"], "uvscope-test/plan-one:v1")
    try:
        for history, message in (
            ("uvscope-test/plan-one", "one tag (uvscope-test/plan-one:v1); a change needs at least two"),
            ("uvscope-test/plan-none", "no local tags of 'uvscope-test/plan-none' in the Docker Engine"),
        ):
            result = subprocess.run(
                [sys.executable, "-m", "uvscope.app.cli", "optimize", "--project", str(project), "--suggest",
                 "--history-images", history],
                capture_output=True, text=True, cwd=tmp_path, timeout=300,
            )
            assert result.returncode != 0 and message in result.stderr, result.stderr
    finally:
        harness.docker("image", "rm", "--no-prune", "uvscope-test/plan-one:v1", check=False)
