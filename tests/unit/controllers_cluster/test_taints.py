"""Taint/toleration rules of the node lifecycle and taint-eviction controllers."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.controllers.cluster import taints

UNREACHABLE_EXEC = {"key": taints.UNREACHABLE, "effect": "NoExecute"}


@pytest.mark.parametrize(("toleration", "expected"), [
    ({"key": taints.UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}, True),
    ({"key": taints.UNREACHABLE, "operator": "Exists"}, True),
    ({"operator": "Exists"}, True),
    ({"key": taints.UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}, False),
    ({"key": taints.NOT_READY, "operator": "Exists"}, False),
    ({"key": taints.UNREACHABLE, "value": ""}, True),
    ({"key": taints.UNREACHABLE, "value": "x"}, False),
    ({"operator": "Equal"}, False),
], ids=["key, Exists and effect", "any effect", "empty key with Exists matches all",
        "other effect", "other key", "Equal with the same empty value", "Equal, other value",
        "empty key with Equal matches nothing"])
def test_toleration_matching(toleration: dict[str, Any], expected: bool) -> None:
    assert taints.tolerates(toleration, UNREACHABLE_EXEC) is expected


@pytest.mark.parametrize(("tolerations", "delay"), [
    ([], 0.0),
    ([{"key": taints.UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
       "tolerationSeconds": 300}], 300.0),
    ([{"key": taints.UNREACHABLE, "operator": "Exists"}], None),
    ([{"operator": "Exists", "tolerationSeconds": 30},
      {"key": taints.UNREACHABLE, "operator": "Exists", "tolerationSeconds": 10}], 10.0),
    ([{"operator": "Exists", "tolerationSeconds": -5}], 0.0),
], ids=["not tolerated: at once", "tolerationSeconds", "tolerated forever",
        "the smallest limit wins", "negative counts as zero"])
def test_eviction_delay(tolerations: list[dict[str, Any]], delay: float | None) -> None:
    assert taints.eviction_delay([UNREACHABLE_EXEC], tolerations) == delay


def test_no_noexecute_taint_means_no_eviction() -> None:
    assert taints.eviction_delay([{"key": "x", "effect": "NoSchedule"}], []) is None


@pytest.mark.parametrize(("ready", "unschedulable", "wanted"), [
    ("True", False, []),
    ("False", False, [(taints.NOT_READY, "NoSchedule"), (taints.NOT_READY, "NoExecute")]),
    ("Unknown", False, [(taints.UNREACHABLE, "NoSchedule"), (taints.UNREACHABLE, "NoExecute")]),
    (None, False, [(taints.UNREACHABLE, "NoSchedule"), (taints.UNREACHABLE, "NoExecute")]),
    ("True", True, [(taints.UNSCHEDULABLE, "NoSchedule")]),
], ids=["ready", "not ready", "unknown", "never reported", "cordoned"])
def test_condition_taints(ready: str | None, unschedulable: bool,
                          wanted: list[tuple[str, str]]) -> None:
    assert taints.desired_controlled_taints(ready, unschedulable) == wanted


def test_reconciling_taints_keeps_foreign_ones_and_the_time_a_taint_was_added() -> None:
    current = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
               {"key": taints.UNREACHABLE, "effect": "NoExecute", "timeAdded": "T0"},
               {"key": taints.NOT_READY, "effect": "NoSchedule"}]
    wanted = taints.desired_controlled_taints("Unknown", False)
    fixed = taints.reconcile_taints(current, wanted, "T1")
    assert fixed == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
                     {"key": taints.UNREACHABLE, "effect": "NoExecute", "timeAdded": "T0"},
                     {"key": taints.UNREACHABLE, "effect": "NoSchedule"}]
    assert taints.reconcile_taints(fixed, [], "T2") == [fixed[0]]
