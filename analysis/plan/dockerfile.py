"""Parse a Dockerfile into instructions, keeping every original line.

Handles parser directives (`# escape=`), line continuations, comments inside
continued lines, heredocs (`RUN <<EOF ... EOF`), `ARG` before the first
`FROM`, flags (`--mount=...`, `--from=...`) and stage names. The rewriter
(`uvscope.analysis.plan.docker_rewrite`) edits by line spans, so everything it does
not touch stays byte for byte.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from ..errors import UvscopeError

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
    heredocs: tuple[str, ...] = ()
    """Bodies of its heredocs (`RUN <<EOF ... EOF`), in order."""

    def flag(self, name: str) -> str | None:
        """The value of `--name=value`, or None."""
        prefix = f"--{name}="
        for flag in self.flags:
            if flag.startswith(prefix):
                return flag[len(prefix) :]
        return None

    def is_json(self) -> bool:
        """Exec (JSON) form: `RUN ["uv", "sync"]` (a shell test `RUN [ -e x ] || ...` is not)."""
        return self._json() is not None

    def _json(self) -> list[str] | None:
        if not self.body.startswith("["):
            return None
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return [str(word) for word in value] if isinstance(value, list) and all(isinstance(w, str) for w in value) else None

    def words(self) -> list[str]:
        """The body split into words: the JSON array, or shell words (quotes removed)."""
        exec_form = self._json()
        if exec_form is not None:
            return exec_form
        try:
            return shlex.split(self.body, comments=False)
        except ValueError:
            return self.body.split()

    def script(self) -> str:
        """What a RUN runs: the heredoc bodies, the exec form's words, or the shell form's body."""
        if self.heredocs:
            return "\n".join(self.heredocs)
        if self.is_json():
            return shlex.join(self.words())
        return self.body


@dataclass(frozen=True)
class Stage:
    """A build stage: `FROM [--platform=...] base [AS name]`."""

    index: int
    base: str
    name: str
    instruction: int
    """Index of its FROM in `Dockerfile.instructions`."""
    flags: tuple[str, ...] = ()
    """The FROM's flags (`--platform=$BUILDPLATFORM`), kept for stages derived from it."""

    @property
    def ref(self) -> str:
        """How other instructions refer to it: its name, or its index."""
        return self.name or str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile."""

    lines: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str
    directives: int = 0
    """How many lines at the top are parser directives (`# syntax=`, `# escape=`)."""
    target: str = ""
    """The stage `docker build --target` builds ("": the last one)."""

    @property
    def final(self) -> Stage:
        """The stage the image is: the target's, else the last."""
        if self.target:
            found = self.find_stage(self.target)
            if found is not None and not self.target.isdigit():
                return found
        return self.stages[-1]

    def stage_instructions(self, stage: int) -> list[tuple[int, Instruction]]:
        """(index, instruction) of one stage, its FROM first."""
        return [(i, ins) for i, ins in enumerate(self.instructions) if ins.stage == stage]

    def find_stage(self, ref: str, before: int | None = None) -> Stage | None:
        """The stage `ref` names (a name in any case, or an index) among those before stage `before`.

        Stage names are case-insensitive in BuildKit (`AS Builder` is `--from=builder`).
        """
        candidates = self.stages if before is None else self.stages[:before]
        if ref.isdigit():
            index = int(ref)
            return candidates[index] if index < len(candidates) else None
        return next((stage for stage in candidates if stage.name and stage.name.lower() == ref.lower()), None)

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage `stage` is built FROM, or None for an image."""
        return self.find_stage(stage.base, stage.index)

    def ancestors(self, stage: Stage) -> list[Stage]:
        """`stage` and the stages it derives from, nearest first."""
        chain = [stage]
        while (parent := self.parent(chain[-1])) is not None and parent not in chain:
            chain.append(parent)
        return chain

    def source(self, instruction: Instruction) -> str:
        """The instruction's own lines, as written."""
        return "".join(self.lines[instruction.start : instruction.end])

    def text_start(self, instruction: Instruction) -> int:
        """The first line of the comment block directly above `instruction` (its own first line if none)."""
        line = instruction.start
        while line > self.directives and self.lines[line - 1].lstrip().startswith("#"):
            line -= 1
        return line


def split_flags(rest: str) -> tuple[tuple[str, ...], str]:
    """`--flag=X --other REST` -> ((the flags), REST)."""
    flags = []
    rest = rest.lstrip()
    while rest.startswith("--"):
        match = re.match(r"--\S+", rest)
        assert match is not None
        flags.append(match.group(0))
        rest = rest[match.end() :].lstrip()
    return tuple(flags), rest


def parse_dockerfile(text: str, target: str = "") -> Dockerfile:
    """Parse `text`; a clear error for what is not a Dockerfile. `target`: the stage built (`docker build --target`)."""
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
    directives = index
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
        heredocs: list[str] = []
        if keyword in ("RUN", "COPY", "ADD") and not rest.lstrip().startswith("["):
            for match in _HEREDOC.finditer(rest):
                delimiter, strip_tabs = match.group(3), bool(match.group(1))
                heredoc_lines: list[str] = []
                while index < len(lines):
                    text_line = lines[index].rstrip("\r\n")
                    index += 1
                    if (text_line.lstrip("\t") if strip_tabs else text_line) == delimiter:
                        break
                    heredoc_lines.append(text_line)
                else:
                    raise UvscopeError(f"Dockerfile line {start + 1}: heredoc {delimiter} is not closed")
                heredocs.append("\n".join(heredoc_lines))
        flags, body = split_flags(rest) if keyword in ("RUN", "COPY", "ADD", "FROM") else ((), rest.strip())
        if keyword == "FROM":
            words = body.split()
            if not words:
                raise UvscopeError(f"Dockerfile line {start + 1}: FROM without an image")
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append(Stage(len(stages), words[0], name, len(instructions), flags))
        elif not stages and keyword != "ARG":
            raise UvscopeError(f"Dockerfile line {start + 1}: {keyword} before the first FROM")
        instructions.append(Instruction(keyword, flags, body, start, index, len(stages) - 1, tuple(heredocs)))
    if not stages:
        raise UvscopeError("not a Dockerfile: no FROM instruction")
    dockerfile = Dockerfile(lines, tuple(instructions), tuple(stages), escape, directives, target)
    if target and (target.isdigit() or dockerfile.find_stage(target) is None):
        names = ", ".join(stage.name for stage in stages if stage.name) or "none"
        raise UvscopeError(f"--target {target}: the Dockerfile has no stage of that name (its named stages: {names})")
    return dockerfile
