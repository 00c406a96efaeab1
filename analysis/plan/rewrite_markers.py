"""The names and markers of what uvscope writes into a Dockerfile, and how a re-run takes it out again.

Everything `rewrite_dockerfile` writes sits between `# uvscope:begin` and
`# uvscope:end` lines, a replaced instruction kept there as a
`# uvscope:original` comment; `strip_generated` removes those blocks and
restores the replaced lines (and removes what uvscope 0.1 wrote, without
markers), so a re-run starts from the file as the user wrote it. The stage
and folder names here are also what the rebuild preview recognises.
"""

from __future__ import annotations

import re

from ..errors import UvscopeError
from .dockerfile import parse_dockerfile

EXPORT_STAGE = "uvscope-export"
GROUP_STAGE = "uvscope-group-{}"
REST_STAGE = "uvscope-rest"
EXPORT_DIR = "/uvscope"
BEGIN = "# uvscope:begin"
END = "# uvscope:end"
ORIGINAL = "# uvscope:original "
BEGIN_LINE = BEGIN + " (written by `uvscope optimize`; a re-run replaces everything down to uvscope:end)"
_LEGACY_COMMENT = re.compile(r"^\s*# uvscope: ")


def strip_generated(text: str) -> tuple[str, bool]:
    """The Dockerfile as the user wrote it: uvscope's blocks removed, replaced lines restored.

    Also removes what uvscope 0.1 wrote (an `uvscope-export` stage and
    `# uvscope:` commented install steps). Returns (text, whether anything was removed).
    """
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    inside = False
    found = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise UvscopeError(f"Dockerfile line {number}: a uvscope block starts inside another; fix it by hand")
            inside = found = True
            continue
        if inside:
            if stripped.startswith(END):
                inside = False
            elif stripped.startswith(ORIGINAL.strip()):
                ending = line[len(line.rstrip("\r\n")) :]
                out.append(line.lstrip()[len(ORIGINAL) :].rstrip("\r\n") + ending)
            continue
        out.append(line)
    if inside:
        raise UvscopeError("the Dockerfile has a `# uvscope:begin` line without its `# uvscope:end`; fix it by hand")
    text = "".join(out)
    legacy = _strip_legacy(text)
    return legacy, found or legacy != text


def _strip_legacy(text: str) -> str:
    """Remove uvscope 0.1's export stage and group steps (written without block markers)."""
    if EXPORT_STAGE not in text:
        return text
    dockerfile = parse_dockerfile(text)
    drop: set[int] = set()
    for stage in dockerfile.stages:
        if stage.name.lower() == EXPORT_STAGE:
            for _, instruction in dockerfile.stage_instructions(stage.index):
                drop.update(range(instruction.start, instruction.end))
    previous_copy = False
    for instruction in dockerfile.instructions:
        if instruction.keyword == "COPY" and (instruction.flag("from") or "").lower() == EXPORT_STAGE:
            drop.update(range(instruction.start, instruction.end))
            previous_copy = True
        elif previous_copy and instruction.keyword == "RUN" and f"{EXPORT_DIR}/" in instruction.script():
            drop.update(range(instruction.start, instruction.end))
            previous_copy = False
        else:
            previous_copy = False
    kept = []
    for number, line in enumerate(dockerfile.lines):
        if number in drop or _LEGACY_COMMENT.match(line):
            continue
        if not line.strip() and number - 1 in drop:
            continue  # 0.1 ended its export stage with a blank line
        kept.append(line)
    return "".join(kept)
