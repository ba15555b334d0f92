"""Request bodies the fuzzer found to be 500s or a crash: deep nesting in JSON and YAML, and the
YAML-only types (binary, sets, timestamps, non-string keys) — each a 400 or a plain JSON value."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from kubeadmpy.apiserver.negotiation import JSON, YAML, decode_body
from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.apiserver.writes import check_kind
from kubeadmpy.machinery import jsonvalues
from kubeadmpy.machinery.status import APIStatusError


def rejected(raw: bytes, content_type: str) -> APIStatusError:
    with pytest.raises(APIStatusError) as caught:
        decode_body(raw, content_type)
    return caught.value


@pytest.mark.parametrize("content_type", [JSON, YAML], ids=["json", "yaml"])
@pytest.mark.parametrize("depth", [101, 300, 1100, 5000], ids=lambda d: f"{d}-levels")
def test_a_body_nested_deeper_than_any_object_is_a_400(content_type: str, depth: int) -> None:
    """orjson read 1100 levels and then could not write them (500 at storage); PyYAML raised
    RecursionError (500)."""
    error = rejected(b"[" * depth + b"]" * depth, content_type)
    assert error.code == 400 and "deeper than 100 levels" in str(error)


def test_a_body_nested_as_deep_as_allowed_is_decoded() -> None:
    value = decode_body(b'{"a":' * 99 + b"1" + b"}" * 99, JSON)
    assert isinstance(value, dict)


def test_a_deep_body_does_not_crash_the_process() -> None:
    """200,000 levels overflowed orjson's native stack: a segfault took the apiserver down.
    Run in a child so a regression fails this test instead of killing the test run."""
    script = textwrap.dedent("""
        from kubeadmpy.apiserver.negotiation import decode_body
        from kubeadmpy.machinery.status import APIStatusError
        try:
            decode_body(b"[" * 1_000_000 + b"]" * 1_000_000, "application/json")
        except APIStatusError as exc:
            print(exc.code, "deeper than 100 levels" in str(exc))
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=120, check=False)
    assert (child.returncode, child.stdout.strip()) == (0, "400 True"), \
        child.stderr[-2000:]


def test_a_deep_object_made_by_a_patch_is_refused_before_it_is_stored() -> None:
    spec = build_registry().lookup("", "v1", "configmaps")
    assert spec is not None
    deep: Any = "x"
    for _ in range(150):
        deep = {"a": deep}
    with pytest.raises(APIStatusError) as caught:
        check_kind(spec, {"metadata": {"name": "c"}, "data": deep})
    assert caught.value.code == 400 and "the object nests" in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [
    (b"metadata: {name: !!binary aGVsbG8=}", {"metadata": {"name": "hello"}}),
    (b"metadata: {creationTimestamp: 2024-01-01}", {"metadata": {
        "creationTimestamp": "2024-01-01"}}),
    (b"t: 2024-01-01 10:00:00", {"t": "2024-01-01 10:00:00"}),
    (b"t: !!timestamp 2024-01-01", {"t": "2024-01-01"}),
    (b"labels: {1: a, 1.5: c, null: d}", {"labels": {"1": "a", "1.5": "c", "null": "d"}}),
    (b"labels: {true: b}", {"labels": {"true": "b"}}),
    (b"finalizers: !!set {b, a}", {"finalizers": {"a": None, "b": None}}),
], ids=["binary", "date", "datetime", "explicit-timestamp", "number-and-null-keys",
        "bool-key", "set"])
def test_yaml_only_types_become_the_json_go_would_make(raw: bytes, expected: Any) -> None:
    """Each of these reached validation or storage as a Python bytes/date/set/int key and
    failed there with a 500 (json.dumps of bytes in an error message, for one)."""
    assert decode_body(raw, YAML) == expected


@pytest.mark.parametrize(("raw", "words"), [
    (b"metadata: {name: !!binary //79}", "metadata.name: !!binary value is not UTF-8 text"),
    (b'metadata: {name: "\\ud800"}', "metadata.name: the text is not valid UTF-8"),
    (b"a: [", "could not be decoded as YAML"),
], ids=["binary-not-text", "lone-surrogate", "unclosed"])
def test_yaml_that_cannot_be_json_is_a_400_naming_the_field(raw: bytes, words: str) -> None:
    error = rejected(raw, YAML)
    assert error.code == 400 and words in str(error)


def test_depth_check_walks_without_recursion() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(APIStatusError):
        jsonvalues.check_depth(value)
