"""A compact notation for writing PolicyRules as data (used by the bootstrap policy tables).

`rule("get list watch", "core apps", "pods deployments")` is the PolicyRule with those verbs,
API groups and resources; "core" stands for the legacy group "" so that lists stay one string.
"""

from __future__ import annotations

from typing import Any

CORE = "core"
READ = "get list watch"
READ_WRITE = "create delete deletecollection patch update"
EDIT = f"{READ} {READ_WRITE}"


def _groups(text: str) -> list[str]:
    return ["" if g == CORE else g for g in text.split()]


def rule(verbs: str, groups: str, resources: str, names: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"apiGroups": _groups(groups), "resources": resources.split(),
                           "verbs": verbs.split()}
    if names:
        out["resourceNames"] = names.split()
    return out


def urls(verbs: str, paths: str) -> dict[str, Any]:
    return {"nonResourceURLs": paths.split(), "verbs": verbs.split()}


EVENTS = rule("create patch update", "core events.k8s.io", "events")
