"""The one writer and the journal: links, devices, FIFOs, owners, hard links, rollback and signals.

Every node is made in a temporary folder; nothing here touches a system path.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import threading

import pytest

from uvscope.analysis import files as files_module
from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.files import write_file, write_new
from uvscope.analysis.journal import Interrupted, Journal

ROOT = os.geteuid() == 0


def test_regular_file_is_replaced_atomically_and_keeps_its_mode(tmp_path):
    target = tmp_path / "report.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    write_file(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode, "a single-link file is replaced by a rename"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_new_file_gets_the_umask_mode(tmp_path):
    umask = os.umask(0o027)
    try:
        write_file(str(tmp_path / "new.txt"), b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "config").mkdir()
    real = tmp_path / "config" / "pyproject.toml"
    real.write_bytes(b"old")
    link = tmp_path / "pyproject.toml"
    link.symlink_to("config/pyproject.toml")
    write_file(str(link), b"new")
    assert link.is_symlink() and os.readlink(link) == "config/pyproject.toml"
    assert real.read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == ["pyproject.toml"]


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to("reports/out.json")
    (tmp_path / "reports").mkdir()
    write_file(str(link), b"report")
    assert link.is_symlink() and (tmp_path / "reports" / "out.json").read_bytes() == b"report"


def test_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    write_file(str(fifo), b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_proc_fd_link_like_dev_stdout_is_written_in_place(tmp_path):
    read_end, write_end = os.pipe()
    try:
        write_file(f"/proc/self/fd/{write_end}", b"to stdout")
        os.close(write_end)
        assert os.read(read_end, 100) == b"to stdout"
    finally:
        os.close(read_end)


def test_character_device_is_written_in_place_never_replaced(tmp_path, null_device):
    write_file(str(null_device), b"discarded")
    st = os.lstat(null_device)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    link = tmp_path / "link-to-null"
    link.symlink_to(null_device)
    write_file(str(link), b"discarded")
    assert link.is_symlink() and stat.S_ISCHR(os.lstat(null_device).st_mode)


def test_owner_and_group_are_kept(tmp_path):
    if not ROOT:
        pytest.skip("giving a file to another user needs root")
    target = tmp_path / "pyproject.toml"
    target.write_bytes(b"old")
    os.chown(target, 1234, 5678)
    target.chmod(0o664)
    write_file(str(target), b"new")
    st = target.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o664)
    assert target.read_bytes() == b"new"


def test_hard_linked_file_is_written_in_place_so_every_name_agrees(tmp_path):
    first = tmp_path / "uv.lock"
    first.write_bytes(b"old contents, longer than the new")
    second = tmp_path / "backup.lock"
    os.link(first, second)
    write_file(str(first), b"new")
    assert second.read_bytes() == b"new" and first.read_bytes() == b"new"
    assert first.stat().st_ino == second.stat().st_ino and first.stat().st_nlink == 2


def test_folder_where_no_temporary_can_be_made_writes_in_place(tmp_path, monkeypatch):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"old")
    inode = target.stat().st_ino

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files_module.tempfile, "mkstemp", refuse)
    write_file(str(target), b"new")
    assert target.read_bytes() == b"new" and target.stat().st_ino == inode


def test_failed_in_place_write_puts_the_old_bytes_back(tmp_path, monkeypatch):
    first = tmp_path / "uv.lock"
    first.write_bytes(b"the old lock")
    os.link(first, tmp_path / "other")
    real_write = os.write
    calls = []

    def write_then_fill_the_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            real_write(fd, bytes(data[:3]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(files_module.os, "write", write_then_fill_the_disk)
    with pytest.raises(UvscopeError, match="cannot write .*No space left on device"):
        write_file(str(first), b"a much longer new lock that does not fit")
    assert first.read_bytes() == b"the old lock"


def test_a_folder_or_a_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(UvscopeError, match="it is a folder"):
        write_file(str(tmp_path), b"x")
    with pytest.raises(UvscopeError, match="No such file or directory"):
        write_file(str(tmp_path / "nope" / "r.json"), b"x")


def test_write_new_never_overwrites(tmp_path):
    existing = tmp_path / "Dockerfile.uvscope"
    existing.write_bytes(b"hand edited")
    with pytest.raises(UvscopeError, match="already exists"):
        write_new(str(existing), b"ours")
    assert existing.read_bytes() == b"hand edited"


# -- the journal ---------------------------------------------------------------------


def _files(tmp_path, **contents):
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    return {name: str(tmp_path / name) for name in contents}


def test_failure_restores_only_files_that_still_hold_what_uvscope_wrote(tmp_path):
    paths = _files(tmp_path, a=b"a0", b=b"b0")
    with pytest.raises(UvscopeError) as raised:
        with Journal(str(tmp_path)) as journal:
            journal.track(paths["a"], b"a0")
            journal.track(paths["b"], b"b0")
            journal.write(paths["a"], b"a1")
            journal.write(paths["b"], b"b1")
            (tmp_path / "b").write_bytes(b"b edited by the user")
            raise UvscopeError("uv lock failed: boom")
    assert (tmp_path / "a").read_bytes() == b"a0"
    assert (tmp_path / "b").read_bytes() == b"b edited by the user"
    assert str(raised.value) == "uv lock failed: boom; a is as it was; b changed by someone else meanwhile and left as it is"


def test_a_created_file_is_removed_on_failure(tmp_path):
    with pytest.raises(UvscopeError, match="Dockerfile.uvscope is as it was"):
        with Journal(str(tmp_path)) as journal:
            journal.track(str(tmp_path / "Dockerfile.uvscope"), None)
            journal.write(str(tmp_path / "Dockerfile.uvscope"), b"new")
            raise UvscopeError("later step failed")
    assert list(tmp_path.iterdir()) == []


def test_track_refuses_a_file_changed_since_it_was_read(tmp_path):
    paths = _files(tmp_path, a=b"edited")
    with pytest.raises(UvscopeError, match="changed on disk since uvscope read it"):
        with Journal() as journal:
            journal.track(paths["a"], b"as planned")
    assert (tmp_path / "a").read_bytes() == b"edited"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_between_writes_rolls_back_and_says_so(tmp_path, signum, code):
    paths = _files(tmp_path, a=b"a0", b=b"b0")
    with pytest.raises(Interrupted) as raised:
        with Journal(str(tmp_path)) as journal:
            journal.track(paths["a"], b"a0")
            journal.track(paths["b"], b"b0")
            journal.write(paths["a"], b"a1")
            os.kill(os.getpid(), signum)
            journal.write(paths["b"], b"b1")
            journal.commit()
    assert raised.value.exit_code == code
    assert str(raised.value) == f"interrupted by {signal.Signals(signum).name}: a and b are as they were"
    assert (tmp_path / "a").read_bytes() == b"a0" and (tmp_path / "b").read_bytes() == b"b0"
    assert signal.getsignal(signum) is not None and signal.getsignal(signal.SIGINT) == signal.default_int_handler


def test_signal_during_a_child_process_stops_it_and_rolls_back(tmp_path):
    paths = _files(tmp_path, a=b"a0")
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    with pytest.raises(Interrupted) as raised:
        with Journal(str(tmp_path)) as journal:
            journal.track(paths["a"], b"a0")
            journal.write(paths["a"], b"a1")
            journal.run(["sleep", "30"], cwd=str(tmp_path), env=dict(os.environ), timeout=60)
    timer.join()
    assert raised.value.exit_code == 143 and "a is as it was" in str(raised.value)
    assert (tmp_path / "a").read_bytes() == b"a0"


def test_hanging_child_is_stopped_after_the_timeout(tmp_path):
    paths = _files(tmp_path, a=b"a0")
    with pytest.raises(UvscopeError, match=r"sleep 30 did not finish in 0.5 s and was stopped; a is as it was"):
        with Journal(str(tmp_path)) as journal:
            journal.track(paths["a"], b"a0")
            journal.write(paths["a"], b"a1")
            journal.run(["sleep", "30"], cwd=str(tmp_path), env=dict(os.environ), timeout=0.5)
    assert (tmp_path / "a").read_bytes() == b"a0"


def test_outside_writer_breaking_a_hard_link_is_repaired(tmp_path):
    paths = _files(tmp_path, lock=b"old lock")
    os.link(paths["lock"], tmp_path / "other-name")
    script = "printf 'new lock' > lock.tmp && mv lock.tmp lock"  # what uv does: a rename over the file
    with Journal(str(tmp_path)) as journal:
        journal.track(paths["lock"])
        journal.run(["sh", "-c", script], cwd=str(tmp_path), env=dict(os.environ), timeout=10, writes=(paths["lock"],))
        journal.commit()
    assert (tmp_path / "other-name").read_bytes() == b"new lock" == (tmp_path / "lock").read_bytes()
    assert (tmp_path / "lock").stat().st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock", "other-name"]


def test_scratch_copy_links_become_private_files(tmp_path):
    """`optimize --prove` copies the project with its links; no write in the copy may reach the user's file."""
    from uvscope.analysis.files import make_private

    outside = tmp_path / "shared" / "pyproject.toml"
    outside.parent.mkdir()
    outside.write_bytes(b"the user's file")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "pyproject.toml").symlink_to(outside)
    make_private(str(copy / "pyproject.toml"), str(copy))
    write_file(str(copy / "pyproject.toml"), b"scratch edit")
    assert outside.read_bytes() == b"the user's file"
    assert not (copy / "pyproject.toml").is_symlink() and (copy / "pyproject.toml").read_bytes() == b"scratch edit"
    (copy / "packages").symlink_to(tmp_path / "shared")
    with pytest.raises(UvscopeError, match="leads out of the scratch copy"):
        make_private(str(copy / "packages" / "pyproject.toml"), str(copy))


def test_extended_attributes_are_kept(tmp_path):
    target = tmp_path / "pyproject.toml"
    target.write_bytes(b"old")
    try:
        os.setxattr(target, "user.reviewed-by", b"alice")
    except OSError as error:
        pytest.skip(f"no user extended attributes on this filesystem: {error}")
    write_file(str(target), b"new")
    assert target.read_bytes() == b"new" and os.getxattr(target, "user.reviewed-by") == b"alice"
