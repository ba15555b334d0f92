"""Server-side apply (`application/apply-patch+yaml`) and field ownership for every write.

Every write records who owns which fields in `metadata.managedFields`: an Update (POST, PUT,
PATCH) gives the writer the fields it added or changed and takes them from everyone else; an
Apply merges the applied configuration into the live object by the schema's list types and map
keys, fails with 409 when it would change a field another manager owns (unless force=true, which
takes the field over), and removes fields the manager applied last time but no longer applies,
as long as nobody else owns them. The rules and messages follow structured-merge-diff upstream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubeadmpy.machinery.patch.fieldpath import (
    CONTAINER,
    Path,
    ancestors,
    applied_fields,
    flatten,
    from_fields_v1,
    item_element,
    json_copy,
    list_semantics,
    path_string,
    to_fields_v1,
)
from kubeadmpy.machinery.schema.definitions import GVK, SchemaNode, schema_for
from kubeadmpy.machinery.status import APIStatusError, Cause, StatusDetails, bad_request

APPLY = "Apply"
UPDATE = "Update"
BEFORE_FIRST_APPLY = "before-first-apply"

# Paths nobody owns: identity and server-managed metadata (upstream's strip set).
_STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", f"f:{name}") for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
        "generation", "managedFields", "resourceVersion")),
})
_MANAGED_FIELDS: Path = ("f:metadata", "f:managedFields")


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str
    fields: set[Path]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def describe(self) -> str:
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        return text if self.operation == APPLY else f"{text} using {self.api_version}"

    def encode(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                                 "apiVersion": self.api_version}
        if self.time:
            entry["time"] = self.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = to_fields_v1(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


Entries = dict[tuple[str, str, str], _Entry]


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode(managed_fields: Any) -> Entries:
    entries: Entries = {}
    if not isinstance(managed_fields, list):
        return entries
    for raw in managed_fields:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        entry = _Entry(str(raw["manager"]), str(raw.get("operation", UPDATE)),
                       str(raw.get("apiVersion", "")), str(raw.get("time", "")),
                       str(raw.get("subresource", "")),
                       from_fields_v1(raw.get("fieldsV1") or {}))
        previous = entries.get(entry.key)
        if previous is not None:
            entry.fields |= previous.fields
        entries[entry.key] = entry
    return entries


def _encode(entries: Entries) -> list[dict[str, Any]]:
    ordered = sorted(entries.values(), key=lambda e: (e.operation, e.time, e.manager,
                                                      e.api_version, e.subresource))
    return [entry.encode() for entry in ordered if entry.fields]


def _without_meta(paths: set[Path]) -> set[Path]:
    return {p for p in paths if p not in _STRIPPED and p[:2] != _MANAGED_FIELDS}


def _flat(obj: dict[str, Any], node: SchemaNode | None) -> dict[Path, Any]:
    return {p: v for p, v in flatten(obj, node, containers=True).items()
            if p[:2] != _MANAGED_FIELDS and p not in _STRIPPED}


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)
    # JSON equality: a boolean is never equal to a number, 1 and 1.0 are.
    return left == right and isinstance(left, bool) == isinstance(right, bool)


def _compare(old: dict[str, Any], new: dict[str, Any],
             node: SchemaNode | None) -> tuple[set[Path], set[Path], set[Path]]:
    """(added, modified, removed) paths between two versions of an object."""
    before, after = _flat(old, node), _flat(new, node)
    # Top-level structs (spec, status) always exist on typed objects upstream, so they are
    # never "added" as a whole; only their contents are. Maps (ConfigMap data) can be.
    added = {p for p in after.keys() - before.keys()
             if not (len(p) == 1 and after[p] is CONTAINER and _is_struct(node, p[0][2:]))}
    removed = set(before.keys() - after.keys())
    modified = {p for p in before.keys() & after.keys()
                if (before[p] is CONTAINER) != (after[p] is CONTAINER)
                or (before[p] is not CONTAINER and not _equal(before[p], after[p]))}
    return added, modified, removed


def _is_struct(node: SchemaNode | None, name: str) -> bool:
    child = node.field(name) if node is not None else None
    return child is not None and bool(child.properties)


def _conflict_error(conflicts: list[tuple[_Entry, Path]]) -> APIStatusError:
    causes = [Cause("FieldManagerConflict", f"conflict with {entry.describe()}", path_string(p))
              for entry, p in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = (f"Apply failed with 1 conflict: conflict with {entry.describe()}: "
                   f"{path_string(path)}")
    else:
        lines: list[str] = []
        for described in sorted({entry.describe() for entry, _ in conflicts}):
            lines.append(f"conflicts with {described}:")
            lines.extend(f"- {path_string(p)}" for e, p in conflicts if e.describe() == described)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return APIStatusError(409, "Conflict", message, StatusDetails(causes=causes))


def _take_ownership(old: dict[str, Any], new: dict[str, Any], entries: Entries,
                    acting: tuple[str, str, str], force: bool,
                    node: SchemaNode | None) -> tuple[set[Path], set[Path], set[Path]]:
    """Move changed fields away from other managers (or refuse: 409) and forget removed ones."""
    added, modified, removed = _compare(old, new, node)
    changed = added | modified
    conflicts: list[tuple[_Entry, Path]] = []
    for key, entry in entries.items():
        if key != acting:
            conflicts.extend((entry, p) for p in sorted(entry.fields & changed))
    if conflicts and not force:
        raise _conflict_error(conflicts)
    for key, entry in entries.items():
        if key != acting:
            entry.fields -= changed | removed
    return added, modified, removed


def _split_meta(obj: dict[str, Any] | None, ignored_fields: tuple[str, ...] = (),
                copy: bool = True) -> tuple[dict[str, Any], Any]:
    """`obj` without managedFields and ignored fields, and the managedFields it had.

    With copy=False the result shares everything but the top level and metadata with `obj`:
    enough for reading, which is all an Update needs (and much cheaper on every write).
    """
    if not obj:
        return {}, None
    body = json_copy(obj) if copy else dict(obj)
    for name in ignored_fields:
        body.pop(name, None)
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        return body, None
    meta = dict(meta)
    managed = meta.pop("managedFields", None)
    body["metadata"] = meta
    return body, managed


def _attach(obj: dict[str, Any], managed_fields: list[dict[str, Any]]) -> None:
    meta = obj.setdefault("metadata", {})
    if managed_fields:
        meta["managedFields"] = managed_fields
    else:
        meta.pop("managedFields", None)


def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                          operation: str = UPDATE, *, subresource: str = "",
                          gvk: GVK | None = None, ignored_fields: tuple[str, ...] = (),
                          now: datetime | None = None) -> list[dict[str, Any]]:
    """managedFields after a non-apply write of `new` over `old` (None on create).

    The writer gains what it added or changed; others lose those fields and removed ones.
    Like upstream, managedFields sent in the request are kept when non-empty (a client may
    rewrite them), `[{}]` resets them, and otherwise the live object's are used. Top-level
    `ignored_fields` (reset by the endpoint) never change hands.
    """
    if not manager:
        raise bad_request("fieldManager: Required value: a field manager name is required")
    gvk = gvk or GVK.of(new)
    node = schema_for(gvk)
    old_body, old_managed = _split_meta(old, ignored_fields, copy=False)
    new_body, new_managed = _split_meta(new, ignored_fields, copy=False)
    if new_managed == [{}]:
        entries: Entries = {}
    else:
        entries = _decode(new_managed) or _decode(old_managed)
    acting = (manager, operation, subresource)
    added, modified, removed = _take_ownership(old_body, new_body, entries, acting, True, node)
    entry = entries.get(acting) or _Entry(manager, operation, gvk.api_version, "", subresource,
                                          set())
    entry.fields = _without_meta((entry.fields - removed) | modified | added)
    entry.api_version = gvk.api_version
    if added or modified or removed or acting not in entries:
        entry.time = _now(now)
    entries[acting] = entry
    return _encode(entries)


def _merge(live: Any, config: Any, node: SchemaNode | None) -> Any:
    """Merge an applied value into a live one the way apply does (by list type / map keys)."""
    if isinstance(live, dict) and isinstance(config, dict) and not (
            node is not None and node.patch_meta.map_type == "atomic"):
        result = dict(live)
        for key, value in config.items():
            child = node.values or node.field(key) if node is not None else None
            result[key] = _merge(live.get(key), value, child) if key in live else value
        return result
    if isinstance(live, list) and isinstance(config, list):
        semantics, keys = list_semantics(node)
        if semantics != "atomic":
            return _merge_list(live, config, semantics, keys, node.items if node else None)
    return json_copy(config)


def _merge_list(live: list[Any], config: list[Any], semantics: str, keys: tuple[str, ...],
                item_node: SchemaNode | None) -> list[Any]:
    """Merge list items by identity: live-only items keep their place, applied items (new or
    shared) follow the applied order, as structured-merge-diff does."""
    live_ids = [item_element(v, semantics, keys, i) for i, v in enumerate(live)]
    config_ids = [item_element(v, semantics, keys, i) for i, v in enumerate(config)]
    live_by_id = dict(zip(live_ids, live, strict=True))
    in_config = set(config_ids)
    shared = [pe for pe in config_ids if pe in live_by_id]
    out: list[Any] = []
    done: set[str] = set()

    def take_config(index: int) -> None:
        pe = config_ids[index]
        out.append(_merge(live_by_id[pe], config[index], item_node) if pe in live_by_id
                   else json_copy(config[index]))
        done.add(pe)
        if shared and shared[0] == pe:
            shared.pop(0)

    li = ci = 0
    while li < len(live) or ci < len(config):
        if li < len(live) and ci < len(config):
            pe = live_ids[li]
            if pe == config_ids[ci]:
                take_config(ci)
                li, ci = li + 1, ci + 1
                continue
            if pe in in_config and shared and shared[0] != pe:
                li += 1  # a shared item the applied order places later
                continue
        if li < len(live):
            pe = live_ids[li]
            if pe not in in_config:
                out.append(live[li])
                li += 1
                continue
            if pe in done:
                li += 1
                continue
        if ci < len(config):
            take_config(ci)
            ci += 1
    return out


def _remove(obj: Any, path: Path, node: SchemaNode | None) -> None:
    """Remove the field or list item at `path` from `obj`, if it is there."""
    for depth, element in enumerate(path):
        last = depth == len(path) - 1
        if element.startswith("f:") and isinstance(obj, dict):
            name = element[2:]
            if name not in obj:
                return
            if last:
                del obj[name]
                return
            node = (node.values or node.field(name)) if node is not None else None
            obj = obj[name]
        elif isinstance(obj, list):
            semantics, keys = list_semantics(node)
            ids = [item_element(v, semantics, keys, i) for i, v in enumerate(obj)]
            if element not in ids:
                return
            position = ids.index(element)
            if last:
                del obj[position]
                return
            node = node.items if node is not None else None
            obj = obj[position]
        else:
            return


def _is_item_key(path: Path) -> bool:
    """True for a key field of a list-map item (`k:{"name":"a"}` then `f:name`)."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in json.loads(path[-2][2:])


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _check_applied(applied: Any, gvk: GVK) -> dict[str, Any]:
    if not isinstance(applied, dict):
        raise bad_request("apply patch must be a YAML or JSON object")
    if GVK.of(applied) != gvk:
        raise bad_request(
            f'apiVersion/kind: the applied configuration says "{applied.get("apiVersion")}, '
            f'{applied.get("kind")}" but the request is for {gvk.api_version}, {gvk.kind}; '
            "send the configuration to the URL of its kind")
    meta = applied.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise bad_request("metadata: Invalid value: must be an object in an apply "
                          "configuration (name, labels, annotations, …)")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil in an apply configuration; "
                          "remove it from the applied object")
    return _strip_nulls(applied)  # type: ignore[no-any-return]


def server_side_apply(live: dict[str, Any] | None, applied: Any, manager: str,
                      force: bool = False, gvk: GVK | None = None, *, subresource: str = "",
                      ignored_fields: tuple[str, ...] = (), now: datetime | None = None
                      ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Apply `applied` for `manager` over `live` (None: create) → (merged, managedFields).

    Raises 409 Conflict naming the other managers and fields unless `force`. The merged
    object carries the new managedFields too. `ignored_fields` names top-level fields this
    endpoint resets (`status` on the main resource of kinds with a status subresource):
    they are neither applied nor owned, as upstream's reset fields.
    """
    if not manager:
        raise bad_request("fieldManager: Required value: is required for apply requests; "
                          "pass ?fieldManager=<name>")
    gvk = gvk or GVK.of(applied if isinstance(applied, dict) else {})
    config = {k: v for k, v in _check_applied(applied, gvk).items() if k not in ignored_fields}
    node = schema_for(gvk)
    live_body, live_managed = _split_meta(live)
    entries = _decode(live_managed)
    if live and not entries:
        # Fields of objects written before anyone tracked ownership belong to a placeholder
        # manager, so the first apply can conflict with them instead of silently taking them.
        entries[(BEFORE_FIRST_APPLY, UPDATE, "")] = _Entry(
            BEFORE_FIRST_APPLY, UPDATE, gvk.api_version, "", "",
            _without_meta(applied_fields(live_body, node)))
    acting = (manager, APPLY, subresource)
    previous = entries.get(acting)
    duplicates: list[Path] = []
    applied_set = _without_meta(applied_fields(config, node, duplicates))
    if duplicates:
        raise bad_request(f"{path_string(duplicates[0][:-1])}: duplicate entries for key "
                          f"{path_string(duplicates[0][-1:])}; each list item needs its own key")
    merged = _merge(live_body, config, node)
    if previous is not None:
        owned = set(applied_set)
        for key, entry in entries.items():
            if key != acting:
                owned |= entry.fields
        keep = owned | {a for p in owned for a in ancestors(p)}
        # Shallow first: removing a list item takes its fields with it, while removing an
        # item's key field first would leave an item nobody can address any more.
        for path in sorted(previous.fields - keep, key=len):
            if not _is_item_key(path):
                _remove(merged, path, node)
    entries[acting] = _Entry(manager, APPLY, gvk.api_version,
                             previous.time if previous else "", subresource, applied_set)
    added, modified, removed = _take_ownership(live_body, merged, entries, acting, force, node)
    if added or modified or removed or previous is None or previous.fields != applied_set:
        entries[acting].time = _now(now)
    managed_fields = _encode(entries)
    _attach(merged, managed_fields)
    return merged, managed_fields
