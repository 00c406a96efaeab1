"""The CI gate: dive's three rules under dive's names, plus rules that need packages.

Rules come from `[tool.uvscope.ci]` in pyproject.toml (the current folder's,
`--project DIR`'s) or a file given with `--ci-config`: TOML (its
`[tool.uvscope.ci]` table, or its top level) or dive's YAML `.dive-ci`
(`rules:` with camelCase names, `lowestEfficiency` is `lowest-efficiency`).
With neither, dive's default rules apply, and the output says so.

As in dive (`cmd/dive/cli/internal/command/ci/rules.go`), each rule is a row of
`RULES`: its name, how its setting is parsed and range-checked, and how it is
checked against an image. Every setting is parsed when the rules are loaded,
before an image is read or a report written: a bad value or an unknown name is
one error naming it. A rule set to `"disabled"` (or dive's `off`, `false`, empty),
or one that needs a uv.lock when there is none, is skipped. `base-layers = N`
leaves the bottom N layers (the base image's) out of the layer rules
(`max-layer-size`, `max-cache-bytes`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UvscopeError
from ..image.caches import cache_folders
from ..image.model import Image, Layer
from ..packages.lockmatch import LockMatch
from ..packages.python import PythonAnalysis
from ..units import parse_size
from .findings import find_problems
from .text import size

DISABLED = ("", "disabled", "off", "false")
"""Settings that turn a rule off (dive's `isRuleDisabled`), besides `false` and an empty YAML value."""


@dataclass(frozen=True)
class Subject:
    """What the rules look at: the image, its Python analysis, and how many bottom layers are the base image's."""

    image: Image
    python: PythonAnalysis | None
    base_layers: int = 0

    @property
    def lock(self) -> LockMatch | None:
        """The image matched against uv.lock, None without a uv.lock."""
        return self.python.lock if self.python is not None else None

    @property
    def own_layers(self) -> list[Layer]:
        """The layers the layer rules count: those above the base image's."""
        return [layer for layer in self.image.layers if layer.index >= self.base_layers]

    @property
    def except_base(self) -> str:
        """What a layer rule's detail adds when base layers are left out."""
        return f" (layers from {self.base_layers} up; the base image's are left out)" if self.base_layers else ""


@dataclass(frozen=True)
class Rule:
    """One CI rule: its name, how its setting is parsed, and how an image is checked against the parsed setting.

    `parse` raises ValueError saying what the rule wants; `check` returns (passed, detail).
    """

    name: str
    parse: Callable[[Any], Any]
    check: Callable[[Any, Subject], tuple[bool, str]]
    needs_lock: bool = False
    """Skipped (not failed) when the image has no uv.lock to compare with."""


def _fraction(value: Any) -> float:
    """dive's ratio settings: a number from 0 to 1."""
    wants = 'wants a number from 0 to 1 (or "disabled")'
    if isinstance(value, bool):  # TOML and YAML booleans are ints to Python: `true` is no threshold
        raise ValueError(wants)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(wants) from None
    if not 0 <= number <= 1:  # also refuses nan
        raise ValueError(wants)
    return number


def _size(value: Any) -> int:
    """A size in bytes: a number, or text such as `20MB` or `1.5GiB`."""
    wants = 'wants a size such as "20MB" (or "disabled")'
    if isinstance(value, bool):
        raise ValueError(wants)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(wants)
        return value
    if not isinstance(value, (str, float)):
        raise ValueError(wants)
    try:
        return parse_size(str(value))
    except ValueError:
        raise ValueError(wants) from None


def _switch(value: Any) -> bool:
    """A rule that is on or off: `true` (off is `false` or "disabled", handled before parsing)."""
    if value is True or isinstance(value, str) and value.strip().lower() in ("true", "on", "enabled"):
        return True
    raise ValueError('wants true (or false, "disabled")')


def _layer_count(value: Any) -> int:
    """`base-layers`: a number of layers, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("wants a number of layers (0 or more)")
    return value


def _lowest_efficiency(limit: float, subject: Subject) -> tuple[bool, str]:
    efficiency = subject.image.efficiency
    return efficiency >= limit, f"efficiency {efficiency:.4f} (minimum {limit})"


def _highest_wasted_bytes(limit: int, subject: Subject) -> tuple[bool, str]:
    wasted = subject.image.wasted_bytes
    return wasted <= limit, f"wasted {size(wasted)} (maximum {size(limit)})"


def _highest_user_wasted_percent(limit: float, subject: Subject) -> tuple[bool, str]:
    wasted = subject.image.user_wasted_percent
    return wasted <= limit, f"user wasted {wasted:.4f} (maximum {limit})"


def _max_layer_size(limit: int, subject: Subject) -> tuple[bool, str]:
    largest = max(subject.own_layers, key=lambda layer: layer.size_bytes, default=None)
    if largest is None:
        return True, "no layers" + subject.except_base
    detail = f"largest layer {largest.index}: {size(largest.size_bytes)} (maximum {size(limit)})"
    return largest.size_bytes <= limit, detail + subject.except_base


def _max_image_size(limit: int, subject: Subject) -> tuple[bool, str]:
    total = subject.image.size_bytes
    return total <= limit, f"image {size(total)} (maximum {size(limit)})"


def _max_cache_bytes(limit: int, subject: Subject) -> tuple[bool, str]:
    total = sum(item.bytes for item in cache_folders(subject.image, min_layer=subject.base_layers))
    return total <= limit, f"caches {size(total)} (maximum {size(limit)}){subject.except_base}"


def _forbid_dev_packages(_: bool, subject: Subject) -> tuple[bool, str]:
    present = subject.lock.dev_present if subject.lock is not None else ()
    return not present, ", ".join(present) or "none installed"


def _require_lock_match(_: bool, subject: Subject) -> tuple[bool, str]:
    bad = subject.lock.mismatches() if subject.lock is not None else []
    return not bad, ", ".join(f"{name} ({status})" for name, status in bad[:10]) or "every installed package matches"


def _heavy_layer_isolated(_: bool, subject: Subject) -> tuple[bool, str]:
    shared = [f for f in find_problems(subject.image, subject.python) if f.id == "heavy-layer-shared"]
    return not shared, shared[0].title if shared else "heavy closures have their own layers"


RULES: tuple[Rule, ...] = (
    Rule("lowest-efficiency", _fraction, _lowest_efficiency),
    Rule("highest-wasted-bytes", _size, _highest_wasted_bytes),
    Rule("highest-user-wasted-percent", _fraction, _highest_user_wasted_percent),
    Rule("max-layer-size", _size, _max_layer_size),
    Rule("max-image-size", _size, _max_image_size),
    Rule("forbid-dev-packages", _switch, _forbid_dev_packages, needs_lock=True),
    Rule("max-cache-bytes", _size, _max_cache_bytes),
    Rule("require-lock-match", _switch, _require_lock_match, needs_lock=True),
    Rule("heavy-layer-isolated", _switch, _heavy_layer_isolated, needs_lock=True),
)
"""Every rule, in the order they are checked and printed."""
SETTINGS: dict[str, Callable[[Any], Any]] = {"base-layers": _layer_count}
"""Options that are not rules: they change how the layer rules count."""
NAMES = tuple(rule.name for rule in RULES) + tuple(SETTINGS)
DIVE_DEFAULTS = {"lowest-efficiency": 0.9, "highest-wasted-bytes": "disabled", "highest-user-wasted-percent": 0.1}
"""dive's rules when no configuration is given (`dive --ci` without `.dive-ci`)."""


@dataclass(frozen=True)
class CiRules:
    """The rules to apply, parsed, and where they came from (printed, and kept in the JSON report)."""

    rules: dict[str, Any]
    """Each configured rule and setting as written (with dive's camelCase names in uvscope's spelling)."""
    origin: str
    limits: dict[str, Any]
    """Each configured rule's parsed setting; None for a disabled rule."""
    base_layers: int = 0


@dataclass(frozen=True)
class RuleResult:
    """PASS, FAIL or SKIP for one rule, and why."""

    rule: str
    status: str
    detail: str


def _kebab(name: str) -> str:
    """dive's camelCase rule names as uvscope's: `highestUserWastedPercent` -> `highest-user-wasted-percent`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", str(name)).lower().replace("_", "-")


def _camel(name: str) -> str:
    """uvscope's rule names as dive spells them: `highest-wasted-bytes` -> `highestWastedBytes`."""
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


def _is_disabled(value: Any) -> bool:
    return value is None or value is False or isinstance(value, str) and value.strip().lower() in DISABLED


def parse_rules(rules: dict[str, Any], where: str, origin: str, written: dict[str, str] | None = None) -> CiRules:
    """Check and parse every rule and setting of `rules` (read from `where`), or raise one error naming what is wrong.

    `written` maps a rule's name to how the file spells it (dive's camelCase in `.dive-ci`), for the error.
    """
    written = written or {}

    def shown(name: str, *notes: str) -> str:
        spelled = written.get(name, name)
        notes = (name, *notes) if spelled != name else notes
        return f"{spelled} ({'; '.join(notes)})" if notes else spelled

    unknown = [name for name in rules if name not in NAMES]
    if unknown:
        spell = _camel if any(written.get(name, name) != name for name in rules) else str
        names = []
        for name in unknown:
            close = difflib.get_close_matches(name, NAMES, n=1, cutoff=0.75)
            hint = [f"did you mean {spell(close[0])}?"] if close else []
            names.append(shown(name, *hint))
        raise UvscopeError(f"unknown CI rule(s) in {where}: {', '.join(names)}; known: {', '.join(map(spell, NAMES))}")
    parsers = {rule.name: rule.parse for rule in RULES}
    limits: dict[str, Any] = {}
    errors = []
    for name, value in rules.items():
        try:
            if name in SETTINGS:
                limits[name] = SETTINGS[name](value)
            else:
                limits[name] = None if _is_disabled(value) else parsers[name](value)
        except ValueError as error:
            kind = "setting" if name in SETTINGS else "rule"
            errors.append(f"CI {kind} {shown(name)} in {where} {error}, got {value!r}")
    if errors:
        raise UvscopeError("; ".join(errors))
    base_layers = limits.pop("base-layers", 0)
    return CiRules(dict(rules), origin, limits, base_layers)


def _load_yaml(path: str) -> tuple[dict[str, Any], dict[str, str]]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as error:
        raise UvscopeError(f"cannot read CI rules from {path}: {error.strerror or error}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UvscopeError(f"cannot read CI rules from {path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise UvscopeError(f"no CI rules in {path}: dive's .dive-ci format is `rules:` with `lowestEfficiency: 0.9` ...")
    rules = data.get("rules", data)
    if not isinstance(rules, dict):
        raise UvscopeError(f"no CI rules in {path}: `rules:` must map rule names to values")
    return {_kebab(key): value for key, value in rules.items()}, {_kebab(key): str(key) for key in rules}


def _is_yaml(path: str) -> bool:
    name = os.path.basename(path).lower()
    return name.endswith((".yaml", ".yml")) or name == ".dive-ci" or name.startswith(".dive-ci.")


def _table(data: Any, *keys: str) -> Any:
    """`data[keys[0]][keys[1]]...`, or None where a level is missing or not a table."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def load_rules(project: str | None = None, config: str | None = None) -> CiRules:
    """The configured rules, parsed, and where they come from; dive's defaults when nothing configures any.

    Unknown rules, bad settings and unreadable or malformed files are one clear error.
    """
    written: dict[str, str] = {}
    if config is not None and _is_yaml(config):
        rules, written = _load_yaml(config)
        path = config
    else:
        path = config or os.path.join(project or os.getcwd(), "pyproject.toml")
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            if config is not None:
                raise UvscopeError(f"no CI rules: {path} does not exist") from None
            return parse_rules(dict(DIVE_DEFAULTS), "dive's defaults", f"no {path}: dive's default rules")
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise UvscopeError(f"cannot read CI rules from {path}: {error}") from None
        rules = _table(data, "tool", "uvscope", "ci")
        if rules is None and config is not None:
            rules = {key: value for key, value in data.items() if key in NAMES}
        if rules is None and config is None:
            return parse_rules(dict(DIVE_DEFAULTS), "dive's defaults", f"no [tool.uvscope.ci] in {path}: dive's default rules")
    if not isinstance(rules, dict) or not rules:
        raise UvscopeError(f"no CI rules in {path}")
    return parse_rules(rules, path, f"rules from {path}", written)


def describe(rules: dict[str, Any]) -> str:
    """`lowest-efficiency 0.9, highest-wasted-bytes disabled, ...`: what is being checked, in one line."""
    return ", ".join(f"{rule} {value}" for rule, value in rules.items())


def evaluate(rules: CiRules, image: Image, python: PythonAnalysis | None) -> list[RuleResult]:
    """Apply each configured rule to the image, in the order of `RULES`."""
    subject = Subject(image, python, rules.base_layers)
    results = []
    for rule in RULES:
        if rule.name not in rules.limits:
            continue
        limit = rules.limits[rule.name]
        if limit is None:
            results.append(RuleResult(rule.name, "SKIP", "disabled"))
        elif rule.needs_lock and subject.lock is None:
            results.append(RuleResult(rule.name, "SKIP", "no uv.lock (give --project DIR, or copy uv.lock into the image)"))
        else:
            passed, detail = rule.check(limit, subject)
            results.append(RuleResult(rule.name, "PASS" if passed else "FAIL", detail))
    return results
