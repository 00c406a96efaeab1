"""The CI rules as a table (issue 16): each rule parses and range-checks its setting when the rules are loaded,
as dive's `rules.go` does, so a bad value is one error naming the rule and the value; the lock-mismatch list
behind the finding and the `require-lock-match` rule is one."""

from __future__ import annotations

import pytest
from sessionimage import LOCK, Venv
from tarbuilder import docker_save_legacy, layer_tar

from uvscope.analysis.errors import UvscopeError
from uvscope.analysis.output.ci import DIVE_DEFAULTS, RULES, SETTINGS, evaluate, load_rules, parse_rules
from uvscope.analysis.output.findings import find_problems
from uvscope.analysis.packages.analysis_cache import read_and_analyse
from uvscope.analysis.read.sources import open_source

BAD = [
    ("lowest-efficiency", "high"),
    ("lowest-efficiency", 1.5),
    ("lowest-efficiency", -0.1),
    ("lowest-efficiency", True),
    ("highest-user-wasted-percent", "lots"),
    ("highest-user-wasted-percent", 2),
    ("highest-wasted-bytes", "lots"),
    ("highest-wasted-bytes", -1),
    ("max-layer-size", "20 parsecs"),
    ("max-image-size", True),
    ("max-cache-bytes", [1]),
    ("forbid-dev-packages", "maybe"),
    ("require-lock-match", 1),
    ("heavy-layer-isolated", "yes please"),
    ("base-layers", "one"),
    ("base-layers", -1),
    ("base-layers", True),
]


def test_every_rule_and_setting_has_a_bad_value_case():
    assert {rule.name for rule in RULES} | set(SETTINGS) == {name for name, _ in BAD}


@pytest.mark.parametrize("rule, value", BAD, ids=[f"{rule}={value!r}" for rule, value in BAD])
def test_a_bad_value_is_one_error_naming_the_rule_and_the_value(rule, value):
    with pytest.raises(UvscopeError) as raised:
        parse_rules({rule: value}, "pyproject.toml", "rules from pyproject.toml")
    message = str(raised.value)
    assert "\n" not in message
    assert rule in message and repr(value) in message and "pyproject.toml" in message and "wants" in message


GOOD = [
    ("lowest-efficiency", 0.9, 0.9),
    ("lowest-efficiency", "0.95", 0.95),
    ("lowest-efficiency", 1, 1.0),
    ("highest-wasted-bytes", "20MB", 20_000_000),
    ("highest-wasted-bytes", 0, 0),
    ("max-image-size", "1.5GiB", int(1.5 * 2**30)),
    ("highest-user-wasted-percent", 0, 0.0),
    ("forbid-dev-packages", True, True),
    ("require-lock-match", "true", True),
    ("base-layers", 2, 2),
]


@pytest.mark.parametrize("rule, value, parsed", GOOD)
def test_good_values_are_parsed_once(rule, value, parsed):
    rules = parse_rules({rule: value}, "pyproject.toml", "origin")
    if rule == "base-layers":
        assert rules.base_layers == parsed and rules.limits == {}
    else:
        assert rules.limits == {rule: parsed}
    assert rules.rules == {rule: value} and rules.origin == "origin"


@pytest.mark.parametrize("off", ["disabled", "off", "false", "", " Disabled ", False, None])
def test_dives_spellings_of_disabled_skip_any_rule(off):
    rules = parse_rules({rule.name: off for rule in RULES}, "pyproject.toml", "origin")
    assert rules.limits == {rule.name: None for rule in RULES}


def test_dives_defaults_parse():
    assert parse_rules(dict(DIVE_DEFAULTS), "defaults", "origin").limits == {
        "lowest-efficiency": 0.9,
        "highest-wasted-bytes": None,
        "highest-user-wasted-percent": 0.1,
    }


def test_several_bad_values_are_named_in_one_line():
    with pytest.raises(UvscopeError) as raised:
        parse_rules({"lowest-efficiency": "high", "max-image-size": "big", "max-layer-size": "1MB"}, "p.toml", "origin")
    message = str(raised.value)
    assert "\n" not in message and "lowest-efficiency" in message and "'big'" in message and "max-layer-size" not in message


def test_an_unknown_rule_gets_the_closest_name():
    with pytest.raises(UvscopeError) as raised:
        parse_rules({"lowest-efficency": 0.9, "colour": "red"}, "pyproject.toml", "origin")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("unknown CI rule(s) in pyproject.toml")
    assert "lowest-efficency (did you mean lowest-efficiency?)" in message
    assert "colour;" in message and "known: lowest-efficiency," in message


def test_dive_ci_errors_use_dives_spelling(tmp_path):
    config = tmp_path / ".dive-ci"
    config.write_text("rules:\n  lowestEfficency: 0.9\n")
    with pytest.raises(UvscopeError, match=r"lowestEfficency \(lowest-efficency; did you mean lowestEfficiency\?\)"):
        load_rules(config=str(config))
    config.write_text("rules:\n  lowestEfficiency: 2\n  highestUserWastedPercent: off\n")
    with pytest.raises(UvscopeError, match=r"CI rule lowestEfficiency \(lowest-efficiency\) in .*\.dive-ci wants a number from 0 to 1"):
        load_rules(config=str(config))
    config.write_text("rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1GB\n  highestUserWastedPercent: off\n")
    assert load_rules(config=str(config)).limits == {
        "lowest-efficiency": 0.5,
        "highest-wasted-bytes": 10**9,
        "highest-user-wasted-percent": None,
    }


@pytest.mark.parametrize("text", ["[tool.uvscope]\nci = 3\n", "[tool.uvscope.ci]\n"])
def test_a_ci_table_that_is_no_table_of_rules_is_an_error(tmp_path, text):
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(UvscopeError, match="no CI rules in"):
        load_rules(str(tmp_path))


def test_a_tool_table_that_is_no_table_means_no_rules_configured(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool]\nuvscope = 1\n")
    assert "dive's default rules" in load_rules(str(tmp_path)).origin


def test_the_lock_mismatch_finding_and_rule_report_the_same_packages(tmp_path):
    """requests 2.31.0 installed, 2.32.0 locked; an unlocked package too: both reports name both, the same way."""
    installed = layer_tar(
        *Venv().synced(
            ("numpy", "2.1.0", {"numpy/__init__.py": 100}),
            ("requests", "2.31.0", {"requests/__init__.py": 100}),
            ("idna", "3.10", {"idna/__init__.py": 100}),
            ("rogue", "0.1", {"rogue/__init__.py": 100}),
        )
    )
    (tmp_path / "uv.lock").write_bytes(LOCK)
    path = tmp_path / "drift.tar"
    path.write_bytes(docker_save_legacy([installed]))
    source = open_source(str(path))
    try:
        image, python = read_and_analyse(source, str(tmp_path))
    finally:
        source.close()
    assert python.lock is not None
    expected = "requests (version-mismatch), rogue (absent)"
    assert sorted(python.lock.mismatches()) == [("requests", "version-mismatch"), ("rogue", "absent")]
    finding = next(f for f in find_problems(image, python) if f.id == "lock-mismatch")
    # the finding quotes the names (a code span in Markdown and HTML), the CI line prints them plainly
    assert finding.detail == "`requests` (version-mismatch), `rogue` (absent)" and finding.title.startswith("2 installed packages")
    [result] = evaluate(parse_rules({"require-lock-match": True}, "p", "o"), image, python)
    assert (result.status, result.detail) == ("FAIL", expected)
