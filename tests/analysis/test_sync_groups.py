"""Which dependency groups a `uv sync` installs, as uv decides it (`analysis/plan/sync_groups.py`)."""

import pytest

from uvscope.analysis.plan.sync_groups import SyncedGroups, synced_groups


@pytest.mark.parametrize(
    ("options", "env", "pyproject", "installed", "left_out"),
    [
        ("sync --locked", {}, "", {"dev"}, {"docs"}),
        ("sync --locked --no-dev", {}, "", set(), {"dev"}),
        ("sync --locked", {"UV_NO_DEV": "1"}, "", set(), {"dev"}),
        ("sync --no-default-groups --group docs", {}, "", {"docs"}, {"dev"}),
        ("sync --group Docs_Site", {}, "", {"dev", "docs-site"}, {"lint"}),
        ("sync --only-group lint", {}, "", {"lint"}, {"dev"}),
        ("sync --only-dev", {}, "", {"dev"}, {"lint"}),
        ("sync --all-groups --no-group lint", {}, "", {"dev", "docs", "anything"}, {"lint"}),
        ("sync --all-groups --no-dev", {}, "", {"docs"}, {"dev"}),
        ("sync", {"UV_NO_DEFAULT_GROUPS": "true"}, "", set(), {"dev"}),
        ("sync", {}, '[tool.uv]\ndefault-groups = ["lint", "dev"]\n', {"dev", "lint"}, {"docs"}),
        ("sync", {}, '[tool.uv]\ndefault-groups = "all"\n', {"dev", "docs"}, set()),
        ("sync --no-group=dev", {}, "", set(), {"dev"}),
    ],
)
def test_synced_groups_follow_uv(options, env, pyproject, installed, left_out):
    groups = synced_groups(options.split(), env, pyproject)
    assert all(name in groups for name in installed), groups
    assert not any(name in groups for name in left_out), groups


def test_two_syncs_install_what_either_installs_and_say_so():
    first = synced_groups(["sync", "--no-dev"], {})
    second = synced_groups(["sync", "--all-groups"], {})
    assert "dev" not in first and "dev" in first | second and "docs" in first | second
    assert (first | SyncedGroups()).label() == "none"
    assert synced_groups(["sync", "--group", "docs"], {}).label() == "dev, docs"
    assert synced_groups(["sync", "--all-groups", "--no-dev"], {}).label() == "all groups but dev"


def test_default_groups_come_from_the_member_then_the_workspace_root():
    from uvscope.analysis.plan.build_shape import ProjectDockerfile
    from uvscope.analysis.plan.sync_groups import dockerfile_groups

    docker = ProjectDockerfile("FROM base\nWORKDIR /app\nRUN uv sync --locked\n")
    root = '[tool.uv]\ndefault-groups = ["lint"]\n'
    from_root = dockerfile_groups(docker, '[project]\nname = "a"\n', root)
    assert "lint" in from_root and "dev" not in from_root
    from_member = dockerfile_groups(docker, '[tool.uv]\ndefault-groups = ["docs"]\n', root)
    assert "docs" in from_member and "lint" not in from_member
    assert "dev" in dockerfile_groups(docker, '[project]\nname = "a"\n', "")
    assert dockerfile_groups(None, root).label() == "none"
