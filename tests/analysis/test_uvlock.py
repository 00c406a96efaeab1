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


_SIBLINGS = """
version = 1
[manifest]
members = ["svc-a", "lib-b"]
[[package]]
name = "svc-a"
version = "0.1.0"
source = { editable = "svc-a" }
dependencies = [{ name = "torch", extra = ["cuda"] }, { name = "lib-b" }]
[package.dev-dependencies]
dev = [{ name = "lib-b" }]
[[package]]
name = "lib-b"
version = "0.1.0"
source = { editable = "lib-b" }
dependencies = [{ name = "torch" }, { name = "attrs", marker = "sys_platform == 'linux'" }]
[[package]]
name = "torch"
version = "2.4.0"
source = { registry = "https://pypi.org/simple" }
[package.optional-dependencies]
cuda = [{ name = "nvidia-cudnn" }]
[[package]]
name = "nvidia-cudnn"
version = "9"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "attrs"
version = "1"
source = { registry = "https://pypi.org/simple" }
"""


def test_a_sibling_member_stands_for_its_dependencies_and_a_name_reached_twice_is_one_root():
    """svc-a needs torch[cuda] and the member lib-b, which needs plain torch and attrs: the roots a group can pin are
    torch[cuda] (the member's own edge, cuda's closure kept) and attrs (lib-b's, with its marker); never lib-b."""
    from uvscope.analysis.packages.uvlock import Dependency, inherited_requirements, items_for, runtime_roots

    lock = parse_lock(_SIBLINGS, "uv.lock")
    assert runtime_roots(lock, "svc-a") == [Dependency("torch", ("cuda",)), Dependency("attrs", (), "sys_platform == 'linux'")]
    sizes = {"torch": 100, "nvidia-cudnn": 900, "attrs": 5}
    torch = next(item for item in items_for(lock, sizes, "svc-a") if item.name == "torch")
    assert torch.closure_bytes == 1000 and torch.packages == ("nvidia-cudnn", "torch")
    assert inherited_requirements(lock, "svc-a") == {"attrs": ["attrs; sys_platform == 'linux'"]}
    # the report's view: the member's direct dependencies as written, the sibling among them
    assert {item.name for item in items_for(lock, sizes, "svc-a", pinnable=False)} == {"torch", "lib-b"}
    # a dependency group that names the sibling: expanded the same way, so the suggestion never holds lib-b
    from uvscope.analysis.plan.grouping import suggest
    from uvscope.analysis.plan.sync_groups import group_roots

    also = group_roots(lock, "svc-a", {"dev"})
    heavy = suggest(lock, {"torch": 900_000_000, "attrs": 10}, "svc-a", also=also)
    assert [group.packages for group in heavy.groups] == [("torch",)]


def test_a_dependency_group_naming_a_sibling_member_is_expanded_too():
    """A member that reaches the sibling lib-b only through its `dev` group: with the group synced, lib-b's own
    runtime dependencies are the roots a group can pin (from uv.lock's edges); without it, none of them are."""
    from uvscope.analysis.packages.uvlock import Dependency, inherited_requirements, runtime_roots

    text = _SIBLINGS.replace('members = ["svc-a", "lib-b"]', 'members = ["svc-a", "lib-b", "svc-c"]')
    text += '[[package]]\nname = "svc-c"\nversion = "0.1.0"\nsource = { editable = "svc-c" }\n[package.dev-dependencies]\ndev = [{ name = "lib-b" }]\n'
    lock = parse_lock(text, "uv.lock")
    assert runtime_roots(lock, "svc-c") == []
    also = tuple(dep for locked in lock.packages["svc-c"] for dep in locked.groups["dev"])
    assert runtime_roots(lock, "svc-c", also) == [Dependency("torch"), Dependency("attrs", (), "sys_platform == 'linux'")]
    assert inherited_requirements(lock, "svc-c", also) == {"torch": ["torch"], "attrs": ["attrs; sys_platform == 'linux'"]}
