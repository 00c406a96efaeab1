"""The CI gate: dive's three rules under dive's names, plus rules that need packages.

Rules come from `[tool.uvscope.ci]` in pyproject.toml (the current folder's,
`--project DIR`'s) or a TOML file given with `--ci-config` (its
`[tool.uvscope.ci]` table, or its top level). A rule set to `"disabled"`, or
one that needs a uv.lock when there is none, is skipped.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from typing import Any

from .browse import cache_folders, parse_size
from .errors import UvscopeError
from .findings import find_problems
from .model import Image
from .python import PythonAnalysis
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


@dataclass(frozen=True)
class RuleResult:
    """PASS, FAIL or SKIP for one rule, and why."""

    rule: str
    status: str
    detail: str


def load_rules(project: str | None = None, config: str | None = None) -> dict[str, Any]:
    """The configured rules; a clear error for unknown rules or unreadable files."""
    path = config or os.path.join(project or os.getcwd(), "pyproject.toml")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UvscopeError(f"no CI rules: {path} does not exist (add [tool.uvscope.ci] to pyproject.toml)") from None
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UvscopeError(f"cannot read CI rules from {path}: {error}") from None
    rules = (data.get("tool") or {}).get("uvscope", {}).get("ci")
    if rules is None and config is not None:
        rules = {key: value for key, value in data.items() if key in RULES}
    if not isinstance(rules, dict) or not rules:
        raise UvscopeError(f"no [tool.uvscope.ci] rules in {path}")
    unknown = sorted(set(rules) - set(RULES))
    if unknown:
        raise UvscopeError(f"unknown CI rule(s) in {path}: {', '.join(unknown)}; known: {', '.join(RULES)}")
    return rules


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
        raise UvscopeError(f"CI rule {rule} wants a size such as \"20MB\", got {value!r}") from None


def evaluate(rules: dict[str, Any], image: Image, python: PythonAnalysis | None) -> list[RuleResult]:
    """Apply each configured rule to the image."""
    results = []
    lock = python.lock if python is not None else None
    for rule in RULES:
        if rule not in rules:
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
            largest = max(image.layers, key=lambda layer: layer.size_bytes, default=None)
            ok = largest is None or largest.size_bytes <= limit
            detail = f"largest layer {largest.index}: {size(largest.size_bytes)} (maximum {size(limit)})" if largest else "no layers"
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", detail))
        elif rule == "max-image-size":
            limit = _bytes(value, rule)
            ok = image.size_bytes <= limit
            results.append(RuleResult(rule, "PASS" if ok else "FAIL", f"image {size(image.size_bytes)} (maximum {size(limit)})"))
        elif rule == "max-cache-bytes":
            limit = _bytes(value, rule)
            total = sum(item.bytes for item in cache_folders(image))
            results.append(RuleResult(rule, "PASS" if total <= limit else "FAIL", f"caches {size(total)} (maximum {size(limit)})"))
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
            results.append(RuleResult(rule, "FAIL" if shared else "PASS", shared[0].title if shared else "heavy closures have their own layers"))
    return results
