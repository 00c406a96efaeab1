"""Parse a Dockerfile into instructions, keeping every original line.

Handles parser directives (`# escape=`), line continuations, comments inside
continued lines, heredocs (`RUN <<EOF ... EOF`), `ARG` before the first
`FROM`, flags (`--mount=...`, `--from=...`) and stage names. The rewriter
(`uvscope.analysis.docker_rewrite`) edits by line spans, so everything it does
not touch stays byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import UvscopeError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword, leading flags, the rest, and the lines it spans."""

    keyword: str
    flags: tuple[str, ...]
    body: str
    start: int
    """Index of its first line in `Dockerfile.lines`."""
    end: int
    """Index one past its last line (heredoc bodies included)."""
    stage: int
    """Index of its stage; -1 for ARGs before the first FROM."""

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None."""
        prefix = f"--{name}="
        for flag in self.flags:
            if flag.startswith(prefix):
                return flag[len(prefix) :]
        return None


@dataclass(frozen=True)
class Stage:
    """A build stage: `FROM base [AS name]`."""

    index: int
    base: str
    name: str
    instruction: int
    """Index of its FROM in `Dockerfile.instructions`."""


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile."""

    lines: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str

    def stage_instructions(self, stage: int) -> list[tuple[int, Instruction]]:
        """(index, instruction) of one stage, its FROM first."""
        return [(i, ins) for i, ins in enumerate(self.instructions) if ins.stage == stage]


def _split_flags(rest: str) -> tuple[tuple[str, ...], str]:
    flags = []
    rest = rest.lstrip()
    while rest.startswith("--"):
        match = re.match(r"--\S+", rest)
        assert match is not None
        flags.append(match.group(0))
        rest = rest[match.end() :].lstrip()
    return tuple(flags), rest


def parse_dockerfile(text: str) -> Dockerfile:
    """Parse `text`; a clear error for what is not a Dockerfile."""
    lines = tuple(text.splitlines(keepends=True))
    escape = "\\"
    index = 0
    # Parser directives: only at the very top, before any other line.
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index].strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise UvscopeError(f"Dockerfile line {index + 1}: escape must be \\ or `")
            escape = match.group(2)
        index += 1
    instructions: list[Instruction] = []
    stages: list[Stage] = []
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index
        parts = []
        while True:
            line = lines[index].rstrip("\r\n")
            index += 1
            content = line.rstrip()
            if content.endswith(escape):
                parts.append(content[:-1])
                # Comment and empty lines inside a continued instruction are skipped.
                while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                    index += 1
                if index >= len(lines):
                    break
                continue
            parts.append(line)
            break
        logical = " ".join(part.strip() for part in parts).strip()
        keyword, _, rest = logical.partition(" ")
        keyword = keyword.upper()
        if not re.fullmatch(r"[A-Z]+", keyword):
            raise UvscopeError(f"Dockerfile line {start + 1}: not an instruction: {logical[:60]!r}")
        if keyword in ("RUN", "COPY", "ADD"):
            for match in _HEREDOC.finditer(rest):
                delimiter, strip_tabs = match.group(3), bool(match.group(1))
                while index < len(lines):
                    body = lines[index].rstrip("\r\n")
                    index += 1
                    if (body.lstrip("\t") if strip_tabs else body) == delimiter:
                        break
                else:
                    raise UvscopeError(f"Dockerfile line {start + 1}: heredoc {delimiter} is not closed")
        flags, body = _split_flags(rest) if keyword in ("RUN", "COPY", "ADD", "FROM") else ((), rest.strip())
        if keyword == "FROM":
            words = body.split()
            if not words:
                raise UvscopeError(f"Dockerfile line {start + 1}: FROM without an image")
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append(Stage(len(stages), words[0], name, len(instructions)))
        elif not stages and keyword != "ARG":
            raise UvscopeError(f"Dockerfile line {start + 1}: {keyword} before the first FROM")
        instructions.append(Instruction(keyword, flags, body, start, index, len(stages) - 1))
    if not stages:
        raise UvscopeError("not a Dockerfile: no FROM instruction")
    return Dockerfile(lines, tuple(instructions), tuple(stages), escape)
