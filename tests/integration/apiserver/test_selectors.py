"""Label and field selector grammar (pure functions, no server): what matches, what is a 400."""

from __future__ import annotations

import pytest

from kubeadmpy.machinery.selectors import (
    format_label_selector,
    parse_field_selector,
    parse_label_selector,
)
from kubeadmpy.machinery.status import APIStatusError

LABELS = {"app": "web", "tier": "front", "replicas": "3"}


@pytest.mark.parametrize(("selector", "matches"), [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app!=web", False),
    ("app=web,tier=back", False),
    ("app in (web, api)", True),
    ("app notin (web)", False),
    ("missing!=x", True),
    ("missing notin (x)", True),
    ("app", True),
    ("!app", False),
    ("!missing", True),
    ("replicas>2", True),
    ("replicas<2", False),
    ("app in (web),tier", True),
], ids=lambda v: repr(v))
def test_label_selectors_match_like_upstream(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("selector", ["app=web,=x", "bad key=v", "replicas>many", "a b c"])
def test_malformed_label_selectors_are_bad_requests(selector: str) -> None:
    with pytest.raises(APIStatusError) as error:
        parse_label_selector(selector)
    assert error.value.code == 400


def test_field_selectors_compare_strings_and_reject_unknown_fields() -> None:
    supported = frozenset({"metadata.name", "status.phase"})
    selector = parse_field_selector("metadata.name=p1,status.phase!=Failed", supported)
    assert selector.matches({"metadata.name": "p1", "status.phase": "Running"})
    assert not selector.matches({"metadata.name": "p1", "status.phase": "Failed"})
    assert selector.exact_name() == "p1"
    with pytest.raises(APIStatusError) as error:
        parse_field_selector("spec.foo=bar", supported)
    assert error.value.code == 400 and "field label not supported: spec.foo" in error.value.message


def test_scale_selector_strings_come_from_label_selectors() -> None:
    assert format_label_selector({"matchLabels": {"app": "web", "a": "b"},
                                  "matchExpressions": [{"key": "env", "operator": "In",
                                                        "values": ["x", "y"]}]}) \
        == "a=b,app=web,env in (x,y)"
