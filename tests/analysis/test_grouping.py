"""Grouping moves, layer plans, previews and the suggestion, on a lock written by the test."""

from __future__ import annotations

import pytest
from test_uvlock import LOCK

from uvscope.analysis.packages.uvlock import parse_lock
from uvscope.analysis.plan.grouping import REST, Group, Grouping, GroupingError, parse_group_option, plan_layers, preview, suggest

SIZES = {"torch": 700_000_000, "nvidia-cublas-cu12": 500_000_000, "typing-extensions": 100_000, "requests": 400_000, "svc": 5_000}


def test_moves_create_rename_reorder_delete():
    grouping = Grouping().add_group("heavy").add_group("web")
    grouping = grouping.move("torch", "heavy").move("requests", "web").move("Requests", "heavy", position=0)
    assert grouping.groups == (Group("heavy", ("requests", "torch")), Group("web", ()))
    assert grouping.group_of("torch") == "heavy" and grouping.group_of("numpy") == REST
    grouping = grouping.rename_group("web", "light").reorder("light", -1)
    assert grouping.names() == ["light", "heavy"]
    grouping = grouping.delete_group("heavy")
    assert grouping.group_of("torch") == REST
    with pytest.raises(GroupingError):
        grouping.add_group("light")
    with pytest.raises(GroupingError):
        grouping.move("torch", "nope")


def test_layers_and_costs():
    lock = parse_lock(LOCK, "uv.lock")
    grouping = Grouping((Group("heavy", ("torch",)),))
    layers = plan_layers(grouping, lock, SIZES, "svc")
    assert [(layer.name, layer.bytes) for layer in layers] == [("heavy", 1_200_100_000), (REST, 400_000)]
    costs = {cost.change: cost for cost in preview(grouping, lock, SIZES, "svc", project_bytes=5_000).costs}
    assert costs["version bump"].today == 1_200_500_000 + 5_000
    assert costs["version bump"].proposed == 400_000 + 5_000
    assert costs["application source changed"].today == costs["application source changed"].proposed == 5_000


def test_suggestion_puts_heavy_rarely_changing_closures_in_one_group():
    lock = parse_lock(LOCK, "uv.lock")
    assert suggest(lock, SIZES, "svc").groups == (Group("heavy", ("torch",)),)
    # a heavy package that changes in most lock commits stays out of the cached layer
    assert suggest(lock, SIZES, "svc", churn={"torch": 9, "requests": 1, "typing-extensions": 1}).groups == ()
    assert suggest(lock, {"torch": 1000}, "svc").groups == ()


def test_group_option():
    assert parse_group_option("heavy=torch, Transformers") == ("heavy", ["torch", "transformers"])
    with pytest.raises(GroupingError):
        parse_group_option("heavy")
