"""The git history of uv.lock, on a repository the test makes with several lock commits."""

from __future__ import annotations

import subprocess

from uvscope.analysis.packages.lockhistory import churn, is_git_checkout, lock_history


def _lock(**versions: str) -> str:
    return "version = 1\n" + "".join(
        f'[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {{ registry = "x" }}\n' for name, version in versions.items()
    )


def _commit(repo, text: str, message: str) -> None:
    (repo / "uv.lock").write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "uv.lock"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True)


def test_each_commit_lists_its_package_changes(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.email", "t@example.invalid"], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "user.name", "t"], check=True)
    _commit(repo, _lock(torch="2.4.0", requests="2.31.0"), "initial")
    _commit(repo, _lock(torch="2.4.0", requests="2.32.0"), "bump requests")
    _commit(repo, _lock(torch="2.4.0", requests="2.32.0", idna="3.7"), "add idna")
    (repo / "README").write_text("not the lock")
    subprocess.run(["git", "-C", str(repo), "add", "README"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "docs"], check=True)
    _commit(repo, _lock(torch="2.4.0", idna="3.8"), "drop requests, bump idna")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    commits = lock_history(str(repo))
    assert [c.subject for c in commits] == ["initial", "bump requests", "add idna", "drop requests, bump idna"]
    assert commits[0].added == {"torch": "2.4.0", "requests": "2.31.0"}
    assert commits[1].changed == {"requests": ("2.31.0", "2.32.0")} and not commits[1].added
    assert commits[2].added == {"idna": "3.7"}
    assert commits[3].removed == {"requests": "2.32.0"} and commits[3].changed == {"idna": ("3.7", "3.8")}
    assert churn(commits) == {"torch": 0, "requests": 2, "idna": 2}
    assert is_git_checkout(str(repo)) and not is_git_checkout(str(tmp_path))
    # nothing was checked out or changed
    assert subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout == head
    assert subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True).stdout == ""
