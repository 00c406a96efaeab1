"""pyproject.toml write-back: formatting kept, conflicts refused, failed re-locks undone."""

from __future__ import annotations

import os
import stat

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.plan.grouping import Group, Grouping
from uvscope.analysis.plan.project_edit import (
    PlannedWrite,
    read_project_file,
    with_groups,
    write_and_relock,
    write_checked,
    write_groups_and_lock,
)

PYPROJECT = """\
[project]
name = "svc"   # the service
version = "1.0.0"
dependencies = [
  "torch>=2.4 ; sys_platform == 'linux'",  # heavy
  "Requests[socks]>=2",
]

[dependency-groups]
dev = ["pytest"]   # tests

[tool.ruff]
line-length = 100
"""

HEAVY = Grouping((Group("heavy", ("torch", "requests")),))


def test_groups_copy_specifiers_and_keep_every_other_byte():
    new = with_groups(PYPROJECT, HEAVY)
    assert new.startswith(PYPROJECT.split("[tool.ruff]")[0].rstrip("\n"))
    assert "\"torch>=2.4 ; sys_platform == 'linux'\"," in new and '"Requests[socks]>=2",' in new
    assert new.endswith("[tool.ruff]\nline-length = 100\n")
    removed = [line for line in PYPROJECT.splitlines() if line not in new.splitlines()]
    assert removed == []


def test_only_runtime_dependencies_can_be_grouped():
    with pytest.raises(UvscopeError, match="numpy not in"):
        with_groups(PYPROJECT, Grouping((Group("heavy", ("numpy",)),)))


def test_broken_pyproject_is_a_clear_error():
    with pytest.raises(UvscopeError, match="not valid TOML"):
        with_groups("[project\nname=", HEAVY)


def test_refuses_to_overwrite_a_file_changed_since_it_was_read(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    original = read_project_file(str(path))
    path.write_text(PYPROJECT + "# edited by someone else\n")
    with pytest.raises(UvscopeError, match="changed on disk"):
        write_checked(original, b"new")
    assert path.read_text().endswith("# edited by someone else\n")


def _fake_uv(tmp_path, script: str) -> str:
    uv = tmp_path / "fake-uv"
    uv.write_text("#!/bin/sh\n" + script)
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return str(uv)


LOCK = 'version = 1\n[[package]]\nname = "torch"\nversion = "2.4.0"\nsource = { registry = "x" }\n'


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("echo 'error: no solution' >&2; exit 1\n", "uv lock failed: error: no solution"),
        (  # uv's error is not its last line: the hints after it say what might help, not what failed
            "printf '  × Failed to build `nvidia-dali==1.51.2`\\n  ╰─▶ No wheel for this platform\\n"
            "  hint: Build failures usually indicate a problem with the package\\n' >&2; exit 1\n",
            "uv lock failed: Failed to build `nvidia-dali==1.51.2`: No wheel for this platform",
        ),
        ("sed -i 's/2.4.0/2.5.0/' uv.lock\n", "would change package versions (torch 2.4.0 -> 2.5.0)"),
    ],
)
def test_failed_or_version_changing_lock_restores_both_files(tmp_path, script, reason):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    pyproject = read_project_file(str(tmp_path / "pyproject.toml"))
    with pytest.raises(UvscopeError) as raised:
        write_groups_and_lock(pyproject, with_groups(PYPROJECT, HEAVY), str(tmp_path / "uv.lock"), uv=_fake_uv(tmp_path, script))
    assert reason in str(raised.value) and "pyproject.toml and uv.lock are as they were" in str(raised.value)
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT
    assert (tmp_path / "uv.lock").read_text() == LOCK
    assert sorted(os.listdir(tmp_path)) == ["fake-uv", "pyproject.toml", "uv.lock"]  # no temporary files left


def test_successful_lock_keeps_the_new_files(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    pyproject = read_project_file(str(tmp_path / "pyproject.toml"))
    new = with_groups(PYPROJECT, HEAVY)
    write_groups_and_lock(pyproject, new, str(tmp_path / "uv.lock"), uv=_fake_uv(tmp_path, "exit 0\n"))
    assert (tmp_path / "pyproject.toml").read_text() == new


def _project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "uv.lock").write_text(LOCK)
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    return read_project_file(str(tmp_path / "pyproject.toml"))


def test_write_and_relock_writes_pyproject_then_the_planned_file(tmp_path):
    pyproject = _project(tmp_path)
    new = with_groups(PYPROJECT, HEAVY).encode()
    then = PlannedWrite(str(tmp_path / "Dockerfile"), b"FROM python\n", b"FROM python:3.12\n")
    written, lock_text = write_and_relock(pyproject, new, str(tmp_path / "uv.lock"), _fake_uv(tmp_path, "exit 0\n"), then)
    assert written == [str(tmp_path / "pyproject.toml"), str(tmp_path / "Dockerfile")]  # uv left uv.lock as it was
    assert lock_text == LOCK
    assert (tmp_path / "pyproject.toml").read_bytes() == new and (tmp_path / "Dockerfile").read_text() == "FROM python:3.12\n"


@pytest.mark.parametrize(
    ("then", "reason"),
    [
        (PlannedWrite("Dockerfile", b"FROM python:3.11\n", b"new"), "Dockerfile changed on disk since uvscope read it"),
        (PlannedWrite("Dockerfile", None, b"new"), "Dockerfile appeared since uvscope read it"),
    ],
)
def test_write_and_relock_refuses_a_planned_file_changed_on_disk(tmp_path, then, reason):
    pyproject = _project(tmp_path)
    then = PlannedWrite(str(tmp_path / then.path), then.expected, then.data)
    with pytest.raises(UvscopeError, match=reason):
        write_and_relock(pyproject, b"changed", str(tmp_path / "uv.lock"), _fake_uv(tmp_path, "exit 0\n"), then)
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT and (tmp_path / "Dockerfile").read_text() == "FROM python\n"


def test_write_and_relock_refuses_a_read_only_file_before_writing(tmp_path):
    pyproject = _project(tmp_path)
    (tmp_path / "Dockerfile").chmod(0o444)
    then = PlannedWrite(str(tmp_path / "Dockerfile"), b"FROM python\n", b"new")
    with pytest.raises(UvscopeError, match="Dockerfile is read-only"):
        write_and_relock(pyproject, b"changed", str(tmp_path / "uv.lock"), _fake_uv(tmp_path, "exit 0\n"), then)
    assert (tmp_path / "pyproject.toml").read_text() == PYPROJECT


# -- issue 13: entries the user wrote never disappear ----------------------------------

TWICE = """\
[project]
name = "svc"
version = "1"
dependencies = [
  "attrs>=22; python_version<'3.12'",
  "attrs[tests]>=23; python_version>='3.12'",
  "idna",
]

[dependency-groups]
Heavy_Stuff = [
  "six>=1.16",  # do not remove
  "idna",
]
"""


def test_existing_group_is_merged_keeping_entries_and_comments():
    new = with_groups(TWICE, Grouping((Group("heavy-stuff", ("idna", "attrs")),)))
    assert '"six>=1.16",  # do not remove' in new
    assert "heavy-stuff" not in new, "PEP 735 names are normalized: the existing group is the same group"
    import tomllib

    assert tomllib.loads(new)["dependency-groups"]["Heavy_Stuff"] == [
        "six>=1.16",
        "idna",
        "attrs>=22; python_version<'3.12'",
        "attrs[tests]>=23; python_version>='3.12'",
    ]


def test_every_requirement_string_of_a_moved_name_goes_into_the_group():
    import tomllib

    new = with_groups(TWICE.split("[dependency-groups]")[0], Grouping((Group("heavy", ("attrs",)),)))
    assert tomllib.loads(new)["dependency-groups"]["heavy"] == [
        "attrs>=22; python_version<'3.12'",
        "attrs[tests]>=23; python_version>='3.12'",
    ]


def test_bom_and_crlf_are_kept():
    text = "\ufeff" + PYPROJECT.replace("\n", "\r\n")
    new = with_groups(text, HEAVY)
    assert new.startswith("\ufeff[project]\r\n")
    assert new.count("\n") == new.count("\r\n") and "heavy = [" in new


def test_inline_dependency_groups_stay_valid_toml():
    import tomllib

    text = 'dependency-groups = { dev = ["pytest"] }\n' + PYPROJECT.split("[dependency-groups]")[0]
    new = with_groups(text, HEAVY)
    groups = tomllib.loads(new)["dependency-groups"]
    assert groups["dev"] == ["pytest"] and len(groups["heavy"]) == 2


def test_a_group_that_is_not_a_list_is_refused():
    text = PYPROJECT.replace('dev = ["pytest"]', 'heavy = "torch"')
    with pytest.raises(UvscopeError, match="dependency-groups.heavy is not a list"):
        with_groups(text, HEAVY)


def test_not_utf8_is_a_one_line_error(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_bytes(PYPROJECT.replace("the service", "caf\u00e9").encode("latin-1"))
    with pytest.raises(UvscopeError, match=r"is not UTF-8 text \(byte 0xe9 at offset \d+\); save it as UTF-8"):
        read_project_file(str(path))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["=idna"], "--group wants NAME=PKG"),
        (["heavy="], "--group wants NAME=PKG"),
        (["heavy=,"], "--group wants NAME=PKG"),
        (["heavy"], "--group wants NAME=PKG"),
        (["he avy=idna"], "not a valid dependency-group name"),
        (["a=idna", "b=idna"], "idna is in two groups (a and b)"),
    ],
)
def test_bad_group_options_are_usage_errors(options, message):
    from uvscope.analysis.plan.project_edit import merge_group_options

    with pytest.raises(UvscopeError) as raised:
        merge_group_options(options)
    assert message in str(raised.value) and raised.value.exit_code == 2


def test_repeated_group_options_merge():
    from uvscope.analysis.plan.project_edit import merge_group_options

    assert merge_group_options(["heavy=idna", "Heavy=attrs,idna", "web=flask"]) == ["heavy=idna,attrs", "web=flask"]


def test_uv_runs_without_variables_that_defeat_the_relock(monkeypatch):
    from uvscope.analysis.plan.project_edit import uv_environment

    for name in ("UV_FROZEN", "UV_LOCKED", "UV_NO_SYNC", "UV_OFFLINE", "UV_PROJECT"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    env = uv_environment()
    assert not {"UV_FROZEN", "UV_LOCKED", "UV_NO_SYNC", "UV_OFFLINE", "UV_PROJECT"} & set(env)
    assert env["UV_INDEX_URL"] == "https://example.invalid/simple"


def test_an_existing_group_holding_what_the_image_lacks_is_refused():
    """The rewrite installs the whole group in the image: a package of the group the image never had would ship."""
    grouping = Grouping((Group("heavy-stuff", ("idna",)),))
    with pytest.raises(UvscopeError, match="already lists 'six>=1.16', which the image does not install"):
        with_groups(TWICE, grouping, installed=frozenset({"attrs", "idna"}))
    assert "six>=1.16" in with_groups(TWICE, grouping, installed=frozenset({"attrs", "idna", "six"}))  # six ships already
    included = TWICE.replace(
        'Heavy_Stuff = [\n  "six>=1.16",  # do not remove\n', 'base = ["six"]\nHeavy_Stuff = [\n  {include-group = "base"},\n'
    )
    with pytest.raises(UvscopeError, match="already lists 'six'"):
        with_groups(included, grouping, installed=frozenset({"attrs", "idna"}))


def test_a_lock_that_would_change_says_which_uv_relocked_and_the_one_the_dockerfile_pins(tmp_path):
    from uvscope.analysis.plan.relock import _version_hint

    uv = _fake_uv(tmp_path, 'echo "uv 0.13.9 (abc 2026-11-01)"\n')
    dockerfile = b"FROM python:3.13-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.11.6 /uv /uvx /bin/\n"
    assert _version_hint(uv, dockerfile, str(tmp_path)) == (
        "; uv 0.13.9 re-locked, the Dockerfile builds with uv 0.11.6: with that uv first on PATH the lock may keep its versions"
    )
    assert _version_hint(uv, dockerfile.replace(b"0.11.6", b"0.13"), str(tmp_path)) == "; uv 0.13.9 re-locked"
    assert _version_hint(uv, None, str(tmp_path)) == "; uv 0.13.9 re-locked"


DOCLING = """[project]
name = "docling-serve"
version = "1.22.0"
dependencies = ["fastapi>=0.100"]

[dependency-groups]
cpu = ["torch>=2.7.1", "torchvision>=0.22.1"]
cu128 = ["torch>=2.7.1", "torchvision>=0.22.1"]

[tool.uv]
conflicts = [[{ group = "cpu" }, { group = "cu128" }]]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", group = "cpu" },
  { index = "pytorch-cu128", group = "cu128", marker = "sys_platform == 'linux'" },
]
torchvision = [{ index = "pytorch-cpu", group = "cpu" }, { index = "pytorch-cu128", group = "cu128" }]
"""


def test_a_package_whose_source_is_picked_by_group_stays_in_that_group():
    """docling-serve picks torch's index by dependency group (`cpu`, `cu128`, declared conflicting): a new
    group holding torch would have no source and `uv lock` could not resolve it. Refused before any write,
    naming the group the image syncs; that group, by its own name, can be the layer (nothing added to it)."""
    from uvscope.analysis.plan.sync_groups import SyncedGroups

    synced = SyncedGroups(frozenset({"cpu"}))
    heavy = Grouping((Group("heavy", ("torch", "torchvision")),))
    with pytest.raises(UvscopeError, match=r"torch's \[tool.uv.sources\] picks its index by dependency group or extra \(cpu, cu128\); "
                       r"a new group 'heavy' would have none .*: name the group after the one the image syncs: --group cpu=torch,torchvision"):
        with_groups(DOCLING, heavy, synced=synced)
    by_extra = DOCLING.replace('"fastapi>=0.100"', '"fastapi>=0.100", "torch>=2.7.1"').replace('"pytorch-cu128", group = "cu128"', '"pytorch-cu128", extra = "cuda"', 1)
    with pytest.raises(UvscopeError, match=r"\(cpu, extra:cuda\); .*: leave it out of the groups"):
        with_groups(by_extra, Grouping((Group("heavy", ("torch",)),)))  # a runtime torch, the image syncs neither group
    assert with_groups(DOCLING, Grouping((Group("cpu", ("torch", "torchvision")),)), synced=synced) == DOCLING
    assert "heavy" in with_groups(DOCLING, Grouping((Group("heavy", ("fastapi",)),)), synced=synced)  # its own source: fine


def test_a_suggestion_puts_packages_sourced_by_the_synced_group_in_that_group():
    """`--suggest` proposes heavy = torch, torchvision, fastapi on docling-serve: torch and torchvision go in
    `cpu` (the group the image syncs, which picks their index), fastapi stays in heavy; nothing to move keeps
    the suggestion as it was."""
    from uvscope.analysis.plan.project_edit import name_by_sources
    from uvscope.analysis.plan.sync_groups import SyncedGroups

    suggested = Grouping((Group("heavy", ("torch", "fastapi", "torchvision")),))
    named = name_by_sources(DOCLING, suggested, SyncedGroups(frozenset({"cpu"})))
    assert named == Grouping((Group("cpu", ("torch", "torchvision")), Group("heavy", ("fastapi",))))
    assert with_groups(DOCLING, named, synced=SyncedGroups(frozenset({"cpu"}))).count("fastapi>=0.100") == 2  # heavy added, cpu kept
    assert name_by_sources(DOCLING, suggested, SyncedGroups(frozenset({"cu128"}))).groups[0].name == "cu128"
    assert name_by_sources(PYPROJECT, suggested, SyncedGroups(frozenset({"cpu"}))) == suggested
