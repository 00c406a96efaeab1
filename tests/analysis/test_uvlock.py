"""uv.lock parsing, groups and closures on a lock written by the test."""

from __future__ import annotations

import pytest

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.packages.uvlock import closure, direct_dependencies, package_groups, parse_lock, wheel_sizes

LOCK = """
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "svc"
version = "1.0.0"
source = { editable = "." }
dependencies = [{ name = "torch" }, { name = "requests" }]

[package.optional-dependencies]
plot = [{ name = "matplotlib" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "torch"
version = "2.5.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "nvidia-cublas-cu12", marker = "sys_platform == 'linux'" }, { name = "Typing_Extensions" }]

[[package]]
name = "nvidia-cublas-cu12"
version = "12.4.5"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "typing-extensions"
version = "4.12.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "requests"
version = "2.32.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "typing-extensions" }]

[[package]]
name = "pytest"
version = "8.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "matplotlib"
version = "3.9.0"
source = { registry = "https://pypi.org/simple" }
"""


def test_parse_members_and_direct_dependencies():
    lock = parse_lock(LOCK, "uv.lock")
    assert lock.members == ("svc",)
    assert lock.versions("Typing_Extensions") == ["4.12.0"]
    directs = {(d.group, d.dependency.name) for d in direct_dependencies(lock)}
    assert directs == {("main", "torch"), ("main", "requests"), ("dev", "pytest"), ("extra:plot", "matplotlib")}


def test_closure_follows_markers_for_all_platforms():
    lock = parse_lock(LOCK, "uv.lock")
    torch = next(d.dependency for d in direct_dependencies(lock) if d.dependency.name == "torch")
    assert closure(lock, [torch]) == {"torch", "nvidia-cublas-cu12", "typing-extensions"}


def test_groups_reaching_each_package():
    labels = package_groups(parse_lock(LOCK, "uv.lock"))
    assert labels["pytest"] == {"dev"}
    assert labels["typing-extensions"] == {"main"}
    assert labels["matplotlib"] == {"extra:plot"}


@pytest.mark.parametrize("text", ["version = 1\n[[package]\nname=", "version = 1\n"])
def test_broken_lock_is_a_clear_error(text):
    with pytest.raises(UvscopeError, match="uv.lock"):
        parse_lock(text, "uv.lock")


def test_non_packaged_project_is_a_member_with_dependencies():
    from uvscope.analysis.packages.uvlock import buildable_members

    text = LOCK.replace('source = { editable = "." }', 'source = { virtual = "." }')
    lock = parse_lock(text, "uv.lock")
    assert buildable_members(lock) == ["svc"]
    workspace_root = parse_lock(
        'version = 1\n[[package]]\nname = "root"\nversion = "0"\nsource = { virtual = "." }\n'
        '[manifest]\nmembers = ["root", "api"]\n[[package]]\nname = "api"\nversion = "1"\nsource = { editable = "api" }\n',
        "uv.lock",
    )
    assert buildable_members(workspace_root) == ["api"]


@pytest.mark.parametrize("wheels", ["5", '"x"', "{ a = 1 }"])
def test_wheels_of_another_shape_size_nothing_instead_of_failing(wheels):
    """A hand-edited or hostile uv.lock whose `wheels` is not a list parses as before: that package has no wheel size."""
    text = f'version = 1\n\n[[package]]\nname = "svc"\nversion = "1.0.0"\nsource = {{ editable = "." }}\n\n[[package]]\nname = "six"\nversion = "1.0"\nwheels = {wheels}\n'
    assert "six" not in parse_lock(text, "uv.lock").wheel_sizes
    assert wheel_sizes(text) == {}
