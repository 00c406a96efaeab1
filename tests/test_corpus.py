"""Every file of the malformed-archive corpus: a clear one-line error or a partial result,
in bounded time and memory, never a traceback, nothing written but the asked-for output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
SCHEMA = json.loads((Path(__file__).parent.parent / "analysis" / "output" / "report.schema.json").read_text())
WRAPPER = (
    "import resource,subprocess,sys\n"
    "p=subprocess.run(sys.argv[1:],capture_output=True,text=True,timeout=60)\n"
    "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)+'\\n'+str(p.returncode)+'\\n'+p.stderr)\n"
)


def test_the_committed_corpus_is_what_the_script_makes():
    sys.path.insert(0, str(CORPUS))
    from make_corpus import corpus

    made = corpus()
    assert sorted(made) == sorted(EXPECTED)
    for name, (data, outcome) in made.items():
        assert (CORPUS / name).read_bytes() == data, f"{name} is stale: run tests/corpus/make_corpus.py"
        assert EXPECTED[name] == outcome


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, tmp_path):
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "uvscope.app.cli", "report", str(CORPUS / name),
         "--no-cache", "-o", str(out)],
        capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )
    peak_kib, code, *stderr = result.stdout.split("\n")
    stderr_text = "\n".join(stderr).strip()
    assert int(peak_kib) < 500 * 1024, f"peak memory {int(peak_kib) // 1024} MiB"
    assert "Traceback" not in stderr_text
    assert "internal error" not in stderr_text
    if EXPECTED[name] == "refuse":
        assert int(code) == 2, stderr_text
        assert len(stderr_text.splitlines()) == 1 and stderr_text.startswith("uvscope: error: ")
        assert not out.exists()
    else:
        assert int(code) == 0, stderr_text
        jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(out.read_text()))
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == (["out", "out/report.json"] if EXPECTED[name] == "read" else ["out"])
