"""The Jinja2 environment and its quoting filters."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from kubeadmpy.render import environment as env_module
from kubeadmpy.render.environment import RenderError, render_template
from kubeadmpy.render.quoting import systemd_quote, to_nice_yaml, to_yaml, toml_str

AWKWARD = ["true", "no", "null", "~", "", "a: b", "- x", "#c", "*ref", "&anchor", "!tag",
           "'single'", '"double"', "back\\slash", "tab\there", "line\nbreak", "1e3", "0x1F",
           "2024-01-01", "ünïcode ✓", "{flow}", "[seq]", "  padded  ", "%percent", "@at", "`tick"]


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_to_yaml_keeps_any_string_a_string(value: str) -> None:
    assert yaml.safe_load(f"key: {to_yaml(value)}\n") == {"key": value}
    assert yaml.safe_load(f"- {to_yaml(value)}\n") == [value]


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_toml_str_keeps_any_string_exact(value: str) -> None:
    assert tomllib.loads(f"key = {toml_str(value)}\n") == {"key": value}


def test_to_nice_yaml_indents_a_block_that_parses_back() -> None:
    data = {"b": [1, "two"], "a": {"nested": "true"}}
    assert yaml.safe_load("root:\n" + to_nice_yaml(data, indent=2) + "\n") == {"root": data}


@pytest.mark.parametrize(("value", "quoted"), [
    ("/usr/bin/kubelet", "/usr/bin/kubelet"),
    ("/opt/my kubelet", '"/opt/my kubelet"'),
    ("/opt/100%/x", "/opt/100%%/x"),
    ("$HOME", "$$HOME"),
])
def test_systemd_quote_escapes_splitting_specifiers_and_variables(value: str,
                                                                  quoted: str) -> None:
    assert systemd_quote(value) == quoted


def test_a_missing_template_variable_fails_loudly() -> None:
    with pytest.raises(RenderError, match="'kubelet_executable' is undefined"):
        render_template("systemd/kubelet.service.j2")


def test_a_missing_attribute_fails_loudly() -> None:
    with pytest.raises(RenderError, match="pod"):
        render_template("kubernetes/static-pod.yaml.j2", pod={"name": "x"})


def test_a_missing_template_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="not found"):
        render_template("no/such.j2")


def test_templates_are_found_in_the_repository_or_the_wheel_location() -> None:
    found = [path for path in env_module.TEMPLATE_DIRS if path.is_dir()]
    assert found, env_module.TEMPLATE_DIRS
    assert {Path(p).name for p in env_module.TEMPLATE_DIRS} == {"templates", "_templates"}
    assert (found[0] / "kubernetes" / "static-pod.yaml.j2").is_file()


@pytest.mark.parametrize("value", ["line\nbreak", "tab\there", "ls\u2028ps\u2029", "nel\x85",
                                   "emoji 😀\n", "long " * 40 + "\nend"], ids=repr)
def test_to_yaml_keeps_multiline_values_on_one_line_at_any_indentation(value: str) -> None:
    node = to_yaml(value)
    assert "\n" not in node
    assert yaml.safe_load(f"a:\n  b:\n    - {node}\n") == {"a": {"b": [value]}}
