"""What a Dockerfile's stages inherit and where its `uv sync` installs.

A stage built `FROM <stage>` inherits that stage's `WORKDIR`, `ENV` and
`USER`; `ARG`s declared before the first `FROM` are visible in `FROM` lines
and, once re-declared, inside a stage. `uv sync` installs into
`--active`'s `$VIRTUAL_ENV`, `UV_PROJECT_ENVIRONMENT` (relative to the
project), or the project's `.venv`. This module answers those questions for
the rewriter and the rebuild preview, from the parsed Dockerfile only.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field, replace

from .dockerfile import Dockerfile, Instruction, Stage

_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
UV_SYNC = re.compile(r"(?:^|[\s;&|(])uv(?:\s+--?[A-Za-z][\w-]*(?:[= ](?!sync\b)\S+)?)*\s+sync\b")
"""`uv sync`, also with global options before the subcommand (`uv --no-cache sync`)."""


@dataclass(frozen=True)
class StageContext:
    """What is in force at one point of a stage."""

    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    args: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        """`$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alt}` with the ENV and ARG values known here."""
        values = {**self.args, **self.env}

        def replace(match: re.Match) -> str:
            name = match.group(1) or match.group(4)
            value = values.get(name, "")
            operator, word = match.group(2), match.group(3) or ""
            if operator in (":-", "-"):
                return value if value else word
            if operator in (":+", "+"):
                return word if value else ""
            return value

        return _VARIABLE.sub(replace, text)


def _assignments(body: str) -> list[tuple[str, str]]:
    """`ENV`/`ARG` bodies: `K=V K2="v 2"` or the legacy `K value`."""
    try:
        words = shlex.split(body, posix=True)
    except ValueError:
        words = body.split()
    if words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))] if len(words) > 1 else [(words[0], "")]
    pairs = []
    for word in words:
        name, sep, value = word.partition("=")
        pairs.append((name, value) if sep else (name, ""))
    return pairs


def global_args(dockerfile: Dockerfile) -> dict[str, str]:
    """`ARG`s before the first `FROM`, with their defaults."""
    values: dict[str, str] = {}
    for instruction in dockerfile.instructions:
        if instruction.stage >= 0:
            break
        if instruction.keyword == "ARG":
            for name, value in _assignments(instruction.body):
                values[name] = StageContext(args=values).expand(value)
    return values


def context_at(dockerfile: Dockerfile, stage: Stage, before: int | None = None) -> StageContext:
    """WORKDIR, ENV, USER and ARGs in force in `stage` before instruction `before` (its end if None),
    following `FROM <stage>` ancestors."""
    glob = global_args(dockerfile)
    context = StageContext()
    for ancestor in reversed(dockerfile.ancestors(stage)):
        context = StageContext(context.workdir, dict(context.env), context.user, {})
        for index, instruction in dockerfile.stage_instructions(ancestor.index)[1:]:
            if ancestor is stage and before is not None and index >= before:
                break
            context = _apply(context, instruction, glob)
    return context


def _apply(context: StageContext, instruction: Instruction, glob: dict[str, str]) -> StageContext:
    keyword = instruction.keyword
    if keyword == "WORKDIR":
        path = context.expand(instruction.body.strip().strip("\"'"))
        workdir = posixpath.normpath(path if path.startswith("/") else posixpath.join(context.workdir, path))
        return StageContext(workdir, context.env, context.user, context.args)
    if keyword == "ENV":
        env = dict(context.env)
        for name, value in _assignments(instruction.body):
            env[name] = context.expand(value)
        return StageContext(context.workdir, env, context.user, context.args)
    if keyword == "ARG":
        args = dict(context.args)
        for name, value in _assignments(instruction.body):
            args[name] = context.expand(value) if value or "=" in instruction.body else glob.get(name, "")
        return StageContext(context.workdir, context.env, context.user, args)
    if keyword == "USER":
        return StageContext(context.workdir, context.env, context.expand(instruction.body.strip()), context.args)
    return context


@dataclass(frozen=True)
class SyncStep:
    """A `RUN ... uv sync ...` and what it installs where."""

    index: int
    """Its index in `Dockerfile.instructions`."""
    stage: Stage
    project_dir: str
    environment: str
    package: str | None
    python: str | None
    active: bool
    options: tuple[str, ...]
    """The words of the `uv sync` command itself."""
    python_raw: str | None = None
    """`--python` as written (`${PY}` from an ARG stays a reference, so `--build-arg PY=...` still applies)."""
    umask: str = ""
    """A `umask` the RUN sets before `uv sync` (`umask 002`: group-writable files): a group's install sets it too."""
    carried_flags: tuple[str, ...] = ()
    """RUN flags a generated step needs too: cache, secret, ssh and `from=` mounts (where uv may come
    from), network and security; never a bind mount of the build context (it would key the step on
    the project's files)."""


def carried_flags(instruction: Instruction) -> tuple[str, ...]:
    """The flags of `instruction` that a generated RUN in the same place should repeat."""
    kept = []
    for flag in instruction.flags:
        if flag.startswith("--mount="):
            spec = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(",") if part)
            kind = spec.get("type", "bind")
            if kind in ("cache", "secret", "ssh", "tmpfs") or (kind == "bind" and "from" in spec):
                kept.append(flag)
        elif flag.startswith(("--network=", "--security=")):
            kept.append(flag)
    return tuple(kept)


def segments(script: str) -> list[str]:
    """Shell commands of a script split at `&&`, `||`, `;`, `|` and new lines (quotes respected)."""
    lexer = shlex.shlex(script.replace("\\\n", " "), posix=True, punctuation_chars=";&|\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    segments: list[str] = []
    current: list[str] = []
    try:
        for token in lexer:
            if token and set(token) <= set(";&|\n"):
                segments.append(" ".join(shlex.quote(word) for word in current))
                current = []
            else:
                current.append(token)
    except ValueError:
        return [script]
    segments.append(" ".join(shlex.quote(word) for word in current))
    return [segment for segment in segments if segment.strip()]


def find_syncs(dockerfile: Dockerfile) -> list[SyncStep]:
    """Every `uv sync` the Dockerfile runs (shell, exec and heredoc forms), in order."""
    steps = []
    for index, instruction in enumerate(dockerfile.instructions):
        if instruction.keyword != "RUN" or not UV_SYNC.search(" " + instruction.script()):
            continue
        stage = dockerfile.stages[instruction.stage]
        context = context_at(dockerfile, stage, index)
        directory, inline, umask = context.workdir, {}, ""
        for segment in segments(instruction.script()):
            words = shlex.split(segment)
            while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                name, _, value = words.pop(0).partition("=")
                inline[name] = value
            if words[:1] == ["export"]:
                for word in words[1:]:
                    name, sep, value = word.partition("=")
                    if sep:
                        inline[name] = value
                continue
            local = StageContext(directory, {**context.env, **inline}, context.user, context.args)
            if words[:1] == ["umask"] and len(words) == 2:
                mode = local.expand(words[1])
                umask = mode if re.fullmatch(r"[0-7]{1,4}", mode) else ""  # `umask $UMASK`: its value where it is known
                continue
            if words[:1] == ["cd"] and len(words) > 1:
                target = context.expand(words[1])
                directory = posixpath.normpath(posixpath.join(directory, target))
                continue
            if not UV_SYNC.search(" " + segment):
                continue
            step = _sync_step(index, stage, instruction, expand_words(local, words), local)
            raw_python = _option(words[words.index("sync") :] if "sync" in words else words, "--python", "-p")
            steps.append(replace(step, python_raw=raw_python, umask=umask))
            break
    return steps


def expand_words(context: StageContext, words: list[str]) -> list[str]:
    """`words` with their variables expanded, and split as the shell splits an unquoted expansion:
    `uv sync ${UV_SYNC_ARGS}` with `UV_SYNC_ARGS="--frozen --no-dev"` runs `uv sync --frozen --no-dev`.
    An expansion to nothing stays an empty word: `--package $PACKAGE` of an ARG without a default keeps
    `--package` an option with a value given at build time."""
    expanded: list[str] = []
    for word in words:
        value = context.expand(word)
        if value.strip() and value != word and _VARIABLE.search(word):
            expanded += value.split()
        else:
            expanded.append(value)
    return expanded


def _option(words: list[str], *names: str) -> str | None:
    for position, word in enumerate(words):
        for name in names:
            if word == name and position + 1 < len(words):
                return words[position + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _sync_step(index: int, stage: Stage, instruction: Instruction, words: list[str], context: StageContext) -> SyncStep:
    sync_at = words.index("sync") if "sync" in words else 0
    options = words[sync_at:]
    directory = _option(words, "--directory")
    project_dir = context.workdir
    if directory:
        project_dir = posixpath.normpath(posixpath.join(project_dir, directory))
    project = _option(options, "--project")
    if project:
        project_dir = posixpath.normpath(posixpath.join(project_dir, project))
    active = "--active" in options
    environment = ""
    if active:
        environment = context.env.get("VIRTUAL_ENV", "")
    if not environment and context.env.get("UV_PROJECT_ENVIRONMENT"):
        environment = posixpath.normpath(posixpath.join(project_dir, context.env["UV_PROJECT_ENVIRONMENT"]))
    if not environment:
        environment = posixpath.join(project_dir, ".venv")
    return SyncStep(
        index=index,
        stage=stage,
        project_dir=project_dir,
        environment=environment,
        package=_option(options, "--package"),
        python=_option(options, "--python", "-p"),
        active=active,
        options=tuple(options),
        carried_flags=carried_flags(instruction),
    )


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    """(sources, destination) of a COPY/ADD, shell or JSON form."""
    words = instruction.words()
    if len(words) < 2:
        return [], ""
    return words[:-1], words[-1]


def covers(source: str, path: str) -> bool:
    """Whether copying `source` (a folder) brings `path` with it."""
    source = posixpath.normpath("/" + source.strip("/")) if source.startswith("/") else posixpath.normpath(source)
    return source == "/" or path == source or path.startswith(source.rstrip("/") + "/")
