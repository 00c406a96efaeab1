"""The CI gate: dive's three rules under dive's names, plus rules that need packages.

Rules come from `[tool.uvscope.ci]` in pyproject.toml (the current folder's,
`--project DIR`'s) or a file given with `--ci-config`: TOML (its
`[tool.uvscope.ci]` table, or its top level) or dive's YAML `.dive-ci`
(`rules:` with camelCase names, `lowestEfficiency` is `lowest-efficiency`).
With neither, dive's default rules apply, and the output says so. A rule set
to `"disabled"`, or one that needs a uv.lock when there is none, is skipped.
`base-layers = N` leaves the bottom N layers (the base image's) out of the
layer rules (`max-layer-size`, `max-cache-bytes`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from typing import Any

from ..errors import UvscopeError
from ..image.caches import cache_folders
from ..image.model import Image
from ..packages.python import PythonAnalysis
from ..units import parse_size
from .findings import find_problems
from .text import size

RULES = (
    "lowest-efficiency",
    "highest-wasted-bytes",
    "highest-user-wasted-percent",
    "max-layer-size",
    "max-image-size",
    "forbid-dev-packages",
    "max-cache-bytes",
    "require-lock-match",
    "heavy-layer-isolated",
)
SETTINGS = ("base-layers",)
"""Options that are not rules: they change how the layer rules count."""
DIVE_DEFAULTS = {"lowest-efficiency": 0.9, "highest-wasted-bytes": "disabled", "highest-user-wasted-percent": 0.1}
"""dive's rules when no configuration is given (`dive --ci` without `.dive-ci`)."""


@dataclass(frozen=True)
class CiRules:
    """The rules to apply and where they came from (printed, and kept in the JSON report)."""

    rules: dict[str, Any]
    origin: str


@dataclass(frozen=True)
class RuleResult:
    """PASS, FAIL or SKIP for one rule, and why."""

    rule: str
    status: str
    detail: str


def _kebab(name: str) -> str:
    """dive's camelCase rule names as uvscope's: `highestUserWastedPercent` -> `highest-user-wasted-percent`."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", str(name)).lower().replace("_", "-")


def _load_yaml(path: str) -> dict[str, Any]:
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
    return {_kebab(key): value for key, value in rules.items()}


def _is_yaml(path: str) -> bool:
    name = os.path.basename(path).lower()
    return name.endswith((".yaml", ".yml")) or name == ".dive-ci" or name.startswith(".dive-ci.")


def load_rules(project: str | None = None, config: str | None = None) -> CiRules:
    """The configured rules and where they come from; dive's defaults when nothing configures any.

    Unknown rules and unreadable or malformed files are a clear error.
    """
    if config is not None and _is_yaml(config):
        rules = _load_yaml(config)
        path = config
    else:
        path = config or os.path.join(project or os.getcwd(), "pyproject.toml")
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            if config is not None:
                raise UvscopeError(f"no CI rules: {path} does not exist") from None
            return CiRules(dict(DIVE_DEFAULTS), f"no {path}: dive's default rules")
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise UvscopeError(f"cannot read CI rules from {path}: {error}") from None
        rules = (data.get("tool") or {}).get("uvscope", {}).get("ci")
        if rules is None and config is not None:
            rules = {key: value for key, value in data.items() if key in RULES + SETTINGS}
        if rules is None and config is None:
            return CiRules(dict(DIVE_DEFAULTS), f"no [tool.uvscope.ci] in {path}: dive's default rules")
    if not isinstance(rules, dict) or not rules:
        raise UvscopeError(f"no CI rules in {path}")
    unknown = sorted(set(rules) - set(RULES) - set(SETTINGS))
    if unknown:
        raise UvscopeError(f"unknown CI rule(s) in {path}: {', '.join(unknown)}; known: {', '.join(RULES + SETTINGS)}")
    if "base-layers" in rules and (not isinstance(rules["base-layers"], int) or rules["base-layers"] < 0):
        raise UvscopeError(f"CI setting base-layers wants a number of layers (0 or more), got {rules['base-layers']!r}")
    return CiRules(rules, f"rules from {path}")


def describe(rules: dict[str, Any]) -> str:
    """`lowest-efficiency 0.9, highest-wasted-bytes disabled, ...`: what is being checked, in one line."""
    return ", ".join(f"{rule} {value}" for rule, value in rules.items())


def _number(value: Any, rule: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UvscopeError(f"CI rule {rule} wants a number, got {value!r}") from None


def _bytes(value: Any, rule: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return parse_size(str(value))
    except ValueError:
        raise UvscopeError(f'CI rule {rule} wants a size such as "20MB", got {value!r}') from None


def evaluate(rules: dict[str, Any], image: Image, python: PythonAnalysis | None) -> list[RuleResult]:
    """Apply each configured rule to the image."""
    results = []
    lock = python.lock if python is not None else None
    base = int(rules.get("base-layers", 0) or 0)
    own_layers = [layer for layer in image.layers if layer.index >= base]
    except_base = f" (layers from {base} up; the base image's are left out)" if base else ""
    for rule in RULES:
        if rule not in rules or rule in SETTINGS:
            continue
        value = rules[rule]
        if value == "disabled" or value is False:
            results.append(RuleResult(rule, "SKIP", "disabled"))
            continue
        if rule == "lowest-efficiency":
            limit = _number(value, rule)
            ok = image.efficiency >= limit
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", f"efficiency {image.efficiency:.4f} (minimum {limit})"))
        elif rule == "highest-wasted-bytes":
            limit = _bytes(value, rule)
            ok = image.wasted_bytes <= limit
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", f"wasted {size(image.wasted_bytes)} (maximum {size(limit)})"))
        elif rule == "highest-user-wasted-percent":
            limit = _number(value, rule)
            ok = image.user_wasted_percent <= limit
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", f"user wasted {image.user_wasted_percent:.4f} (maximum {limit})"))
        elif rule == "max-layer-size":
            limit = _bytes(value, rule)
            largest = max(own_layers, key=lambda layer: layer.size_bytes, default=None)
            ok = largest is None or largest.size_bytes <= limit
            detail = f"largest layer {largest.index}: {size(largest.size_bytes)} (maximum {size(limit)})" if largest else "no layers"
            detail += except_base
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", detail))
        elif rule == "max-image-size":
            limit = _bytes(value, rule)
            ok = image.size_bytes <= limit
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", f"image {size(image.size_bytes)} (maximum {size(limit)})"))
        elif rule == "max-cache-bytes":
            limit = _bytes(value, rule)
            total = sum(item.bytes for item in cache_folders(image, min_layer=base))
            results.append(
                RuleResult(rule, "PASS" if total <= limit else "FAIL", f"caches {size(total)} (maximum {size(limit)}){except_base}")
            )
        elif lock is None:
            results.append(RuleResult(rule, "SKIP", "no uv.lock (give --project DIR, or copy uv.lock into the image)"))
        elif rule == "forbid-dev-packages":
            present = lock.dev_present
            results.append(RuleResult(rule, "FAIL" if present else "PASS", ", ".join(present) or "none installed"))
        elif rule == "require-lock-match":
            bad = [f"{key[1]} ({s.status})" for key, s in lock.statuses.items() if key[0] == lock.environment and s.status != "match"]
            results.append(RuleResult(rule, "FAIL" if bad else "PASS", ", ".join(bad[:10]) or "every installed package matches"))
        elif rule == "heavy-layer-isolated":
            shared = [f for f in find_problems(image, python) if f.id == "heavy-layer-shared"]
            results.append(
                RuleResult(rule, "FAIL" if shared else "PASS", shared[0].title if shared else "heavy closures have their own layers")
            )
    return results
