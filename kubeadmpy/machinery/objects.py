"""Object metadata rules every kind shares: names, generateName, labels, timestamps, ages.

These are the checks and formats upstream applies to every ObjectMeta, so a name kubectl accepts
elsewhere is accepted here and a bad one gets the same 422 cause.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.machinery.status import Cause

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

# Upstream's generateName alphabet: no vowels (no accidental words), no confusable characters.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_MAX_GENERATE_PREFIX = 58


def generate_name(prefix: str) -> str:
    return prefix[:_MAX_GENERATE_PREFIX] + "".join(
        secrets.choice(_NAME_ALPHABET) for _ in range(5))


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


def human_duration(seconds: float) -> str:
    """kubectl's short ages: 45s, 3m20s, 15m, 5h3m, 2d3h, 40d, 3y12d."""
    s = int(seconds)
    if s < 0:
        s = 0
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{hours // 24 // 365}y"


def age(obj: dict[str, Any], now: float) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    return human_duration(now - parse_rfc3339(created))


def validate_path_segment_name(name: str, path: str) -> list[Cause]:
    """RBAC's rule: any name usable as one URL path segment (`system:node` is fine)."""
    if name in (".", "..") or "/" in name or "%" in name:
        return [Cause("FieldValueInvalid", f'Invalid value: "{name}": may not be \'.\' or '
                      "'..' and may not contain '/' or '%'", path)]
    return []


def validate_name(name: str, path: str, *, label: bool = False) -> list[Cause]:
    """DNS-1123 subdomain (most kinds) or label (namespaces, services) rules for a name."""
    limit, pattern, what = ((63, DNS1123_LABEL, "RFC 1123 label") if label
                            else (253, DNS1123_SUBDOMAIN, "RFC 1123 subdomain"))
    if len(name) > limit:
        return [Cause("FieldValueTooLong", f"Invalid value: \"{name}\": must be no more than "
                      f"{limit} characters", path)]
    if not pattern.match(name):
        return [Cause("FieldValueInvalid",
                      f"Invalid value: \"{name}\": a lowercase {what} must consist of lower case "
                      "alphanumeric characters, '-' or '.', and must start and end with an "
                      "alphanumeric character", path)]
    return []


def _validate_qualified_key(key: str, path: str) -> list[Cause]:
    prefix, _, name = key.rpartition("/")
    if (prefix and not DNS1123_SUBDOMAIN.match(prefix)) or not name or len(name) > 63 \
            or not _QUALIFIED_NAME.match(name):
        return [Cause("FieldValueInvalid", f"Invalid value: \"{key}\": name part must consist of "
                      "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                      "alphanumeric character", path)]
    return []


def validate_object_meta(meta: Any, *, namespaced: bool, label_name: bool = False,
                         path_segment_name: bool = False) -> list[Cause]:
    if not isinstance(meta, dict):
        return [Cause("FieldValueTypeInvalid", "must be an object", "metadata")]
    causes: list[Cause] = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(Cause("FieldValueRequired", "Required value: name or generateName is "
                            "required", "metadata.name"))
    elif path_segment_name:
        causes += validate_path_segment_name(name, "metadata.name")
    else:
        causes += validate_name(name, "metadata.name", label=label_name)
    if namespaced and meta.get("namespace"):
        causes += validate_name(str(meta["namespace"]), "metadata.namespace", label=True)
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        causes.append(Cause("FieldValueTypeInvalid", "must be a map of strings", "metadata.labels"))
    else:
        for key, value in labels.items():
            causes += _validate_qualified_key(key, "metadata.labels")
            if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
                causes.append(Cause("FieldValueInvalid", f"Invalid value: \"{value}\": a valid "
                                    "label must be an empty string or consist of alphanumeric "
                                    "characters, '-', '_' or '.' (at most 63)", "metadata.labels"))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        causes.append(Cause("FieldValueTypeInvalid", "must be a map of strings",
                            "metadata.annotations"))
    else:
        for key, value in annotations.items():
            causes += _validate_qualified_key(key, "metadata.annotations")
            if not isinstance(value, str):
                causes.append(Cause("FieldValueTypeInvalid", "must be a string",
                                    f"metadata.annotations[{key}]"))
    finalizers = meta.get("finalizers") or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        causes.append(Cause("FieldValueTypeInvalid", "must be a list of strings",
                            "metadata.finalizers"))
    return causes


def spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    """Everything generation tracks: the object minus metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}
