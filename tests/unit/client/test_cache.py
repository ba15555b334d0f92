"""The informer store: keys, the namespace index and custom indexes kept in step on change."""

from __future__ import annotations

from typing import Any

import pytest

from kubeadmpy.client import Store, object_key, pods_by_node_name, split_key


def pod(name: str, node: str = "", namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
            "spec": {"nodeName": node}}


def test_keys_are_namespace_slash_name_or_just_the_name() -> None:
    assert object_key(pod("a")) == "default/a"
    assert object_key({"metadata": {"name": "node1"}}) == "node1"
    assert split_key("default/a") == ("default", "a")
    assert split_key("node1") == ("", "node1")


def test_pods_by_node_follow_rebinding_and_deletion() -> None:
    store = Store({"nodeName": pods_by_node_name})
    store.upsert(pod("a", "n1"))
    store.upsert(pod("b", "n1"))
    store.upsert(pod("c"))
    assert [p["metadata"]["name"] for p in store.by_index("nodeName", "n1")] == ["a", "b"]
    store.upsert(pod("b", "n2"))
    assert [p["metadata"]["name"] for p in store.by_index("nodeName", "n1")] == ["a"]
    store.remove("default/a")
    assert store.by_index("nodeName", "n1") == []
    assert store.index_values("nodeName") == ["", "n2"]


def test_namespace_index_is_always_there() -> None:
    store = Store()
    store.upsert(pod("a", namespace="x"))
    store.upsert(pod("b", namespace="y"))
    assert [p["metadata"]["name"] for p in store.list("x")] == ["a"]
    assert len(store.list()) == 2


def test_an_index_added_later_covers_existing_objects() -> None:
    store = Store()
    store.upsert(pod("a", "n1"))
    store.add_indexer("nodeName", pods_by_node_name)
    assert len(store.by_index("nodeName", "n1")) == 1


def test_unknown_index_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no index named 'nope'"):
        Store().by_index("nope", "x")
