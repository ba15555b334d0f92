"""`--encryption-provider-config`: the EncryptionConfiguration file (apiserver.config.k8s.io/v1).

Parsed into an ordered list of (resources, providers) entries; each provider is aescbc, aesgcm,
secretbox or identity with base64 keys of upstream's lengths. Anything wrong — unknown kind or
provider, a key that does not decode or has the wrong length, two providers in one element —
is a ConfigError naming the field, so the server refuses to start instead of writing data it
could not read back.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeadmpy.errors import ConfigError

API_VERSIONS = ("apiserver.config.k8s.io/v1", "apiserver.k8s.io/v1")
KIND = "EncryptionConfiguration"
KEY_SIZES = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}
PROVIDERS = (*KEY_SIZES, "identity")
_RESOURCE = re.compile(r"^(\*|[a-z0-9][a-z0-9-]*)(\.(\*|[a-z0-9][a-z0-9.-]*)?)?$")


@dataclass(frozen=True)
class Key:
    name: str
    secret: bytes


@dataclass(frozen=True)
class Provider:
    kind: str  # aescbc | aesgcm | secretbox | identity
    keys: tuple[Key, ...] = ()


@dataclass(frozen=True)
class ResourceEntry:
    resources: tuple[str, ...]
    providers: tuple[Provider, ...]


@dataclass(frozen=True)
class EncryptionConfiguration:
    entries: tuple[ResourceEntry, ...]
    source: str = ""


def load(path: Path) -> EncryptionConfiguration:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError("--encryption-provider-config", f"cannot read {path}: {exc}",
                          "Point the flag at a readable EncryptionConfiguration file") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("--encryption-provider-config", f"{path} is not YAML: {exc}",
                          source=str(path)) from exc
    return parse(doc, str(path))


def _error(field: str, problem: str, fix: str, source: str) -> ConfigError:
    return ConfigError(field, problem, fix, source=source)


def parse(doc: Any, source: str = "") -> EncryptionConfiguration:
    if not isinstance(doc, Mapping):
        raise _error("(document)", "is not a mapping", f"Write a {KIND} object", source)
    if doc.get("kind") != KIND or doc.get("apiVersion") not in API_VERSIONS:
        raise _error("kind/apiVersion", f"{doc.get('kind')!r}/{doc.get('apiVersion')!r}",
                     f"Use kind: {KIND} with apiVersion: {API_VERSIONS[0]}", source)
    raw_entries = doc.get("resources")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise _error("resources", "must be a non-empty list",
                     "List resources and their providers", source)
    entries = [_entry(e, f"resources[{i}]", source) for i, e in enumerate(raw_entries)]
    return EncryptionConfiguration(tuple(entries), source)


def _entry(raw: Any, path: str, source: str) -> ResourceEntry:
    if not isinstance(raw, Mapping):
        raise _error(path, "must be a mapping with resources and providers", "", source)
    resources = raw.get("resources")
    if not isinstance(resources, list) or not resources:
        raise _error(f"{path}.resources", "must be a non-empty list",
                     "Name resources such as secrets or deployments.apps", source)
    for j, resource in enumerate(resources):
        if not isinstance(resource, str) or not _RESOURCE.match(resource):
            raise _error(f"{path}.resources[{j}]", f"{resource!r} is not a resource",
                         "Use lowercase resource[.group], '*.group' or '*.*'", source)
    providers = raw.get("providers")
    if not isinstance(providers, list) or not providers:
        raise _error(f"{path}.providers", "must be a non-empty list",
                     "List providers, the first one encrypts", source)
    return ResourceEntry(tuple(resources),
                         tuple(_provider(p, f"{path}.providers[{k}]", source)
                               for k, p in enumerate(providers)))


def _provider(raw: Any, path: str, source: str) -> Provider:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise _error(path, "must name exactly one provider",
                     "Split providers into separate list elements", source)
    kind, body = next(iter(raw.items()))
    if kind not in PROVIDERS:
        raise _error(f"{path}.{kind}", "is not a supported provider",
                     f"Use one of {', '.join(PROVIDERS)} (kms is not supported)", source)
    if kind == "identity":
        return Provider(kind)
    keys = (body or {}).get("keys") if isinstance(body, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise _error(f"{path}.{kind}.keys", "must be a non-empty list", "Add a key", source)
    seen: set[str] = set()
    parsed = []
    for k, key in enumerate(keys):
        where = f"{path}.{kind}.keys[{k}]"
        name = key.get("name") if isinstance(key, Mapping) else None
        if not isinstance(name, str) or not name or ":" in name:
            raise _error(f"{where}.name", f"{name!r} is not a key name",
                         "Give every key a non-empty name without ':'", source)
        if name in seen:
            raise _error(f"{where}.name", f"{name!r} is used twice", "Use unique names", source)
        seen.add(name)
        parsed.append(Key(name, _secret(key.get("secret"), kind, f"{where}.secret", source)))
    return Provider(kind, tuple(parsed))


def _secret(value: Any, kind: str, where: str, source: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise _error(where, "is missing", "Set a base64-encoded random key", source)
    try:
        secret = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _error(where, "is not valid base64",
                     "Generate one with: head -c 32 /dev/urandom | base64", source) from exc
    if len(secret) not in KEY_SIZES[kind]:
        sizes = ", ".join(str(s) for s in KEY_SIZES[kind])
        raise _error(where, f"decodes to {len(secret)} bytes; {kind} needs {sizes}",
                     "Generate one with: head -c 32 /dev/urandom | base64", source)
    return secret


def matches(pattern: str, group_resource: str) -> bool:
    """Whether an EncryptionConfiguration resource entry names `resource[.group]`."""
    resource, _, group = group_resource.partition(".")
    if pattern == "*.*":
        return True
    want_resource, dot, want_group = pattern.partition(".")
    if want_resource == "*":
        return group == want_group
    return want_resource == resource and (want_group == group if dot else not group)


def providers_for(config: EncryptionConfiguration, group_resource: str) -> Sequence[Provider]:
    """The provider list of the first entry naming the resource; identity when none does."""
    for entry in config.entries:
        if any(matches(p, group_resource) for p in entry.resources):
            return entry.providers
    return (Provider("identity"),)
