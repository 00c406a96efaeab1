# uvscope corpus stub (see ADAPTED.md): the readme pyproject.toml declares dynamic
from pathlib import Path

from setuptools import setup

setup(
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
)
