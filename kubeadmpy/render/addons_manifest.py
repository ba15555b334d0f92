"""Reading an addon manifest back: the YAML documents of a rendered template, kinds checked.

Every addon renderer parses its output before anyone applies it; a template and its values that
disagree are a `RenderError` (a kubeadmpy defect), never a half-applied addon.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from kubeadmpy.render.environment import RenderError


def parse_manifest(content: str, template: str, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """The manifest's objects, in order; a RenderError unless their kinds are `kinds`."""
    try:
        objects = [doc for doc in yaml.safe_load_all(content) if doc is not None]
    except yaml.YAMLError as exc:
        raise RenderError(f"{template} did not parse back: {exc}") from exc
    found = tuple(obj.get("kind") if isinstance(obj, dict) else None for obj in objects)
    if found != tuple(kinds):
        raise RenderError(f"{template} holds {found}, expected {tuple(kinds)}")
    return objects
