"""`record_rows` and `record_hashes`: the one reader of a RECORD, for the attribution and the image diff."""

from __future__ import annotations

from uvscope.analysis.packages.record import record_hashes, record_rows

SITE = "app/.venv/lib/python3.12/site-packages"
RECORD = (
    b"six.py,sha256=abc,100\n"
    b"six-1.17.0.dist-info/RECORD,,\n"
    b"__pycache__/six.cpython-312.pyc,,\n"
    b"../../../bin/tool,sha256=def,10\n"
    b"/etc/six.conf,sha256=ghi,5\n"
    b"pkg//./mod.py,sha256=jkl,7\n"
    b"../../../../../../../../escape,sha256=no,1\n"
    b"\n"
)


def test_rows_are_normalised_image_paths():
    assert record_rows(RECORD, SITE) == [
        (f"{SITE}/six.py", "sha256=abc"),
        (f"{SITE}/six-1.17.0.dist-info/RECORD", ""),
        (f"{SITE}/__pycache__/six.cpython-312.pyc", ""),
        ("app/.venv/bin/tool", "sha256=def"),
        ("etc/six.conf", "sha256=ghi"),
        (f"{SITE}/pkg/mod.py", "sha256=jkl"),
    ]


def test_hashes_keep_only_rows_with_a_hash():
    assert record_hashes(RECORD, SITE) == {
        f"{SITE}/six.py": "sha256=abc",
        "app/.venv/bin/tool": "sha256=def",
        "etc/six.conf": "sha256=ghi",
        f"{SITE}/pkg/mod.py": "sha256=jkl",
    }


def test_a_malformed_record_gives_the_rows_before_the_fault():
    too_long = b"b" * 200_000  # over csv's field limit: csv.Error
    assert record_rows(b"a.py,sha256=x,1\n" + too_long + b",sha256=y,1\nc.py,sha256=z,1\n", "site") == [("site/a.py", "sha256=x")]
    assert record_rows(b"\xff\xfe,sha256=x,1\n", "site") == [("site/\ufffd\ufffd", "sha256=x")]
