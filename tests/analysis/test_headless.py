"""`uvscope.analysis` runs with no UI: no module of it imports Textual or Rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import uvscope.analysis


def test_analysis_modules_never_import_textual_or_rich():
    names = [f"uvscope.analysis.{module.name}" for module in pkgutil.iter_modules(uvscope.analysis.__path__)]
    assert "uvscope.analysis.sources" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
