"""The write path shared by create, update, patch and the subresources: server-set metadata,
strategies (defaulting, validation, status and immutable fields), generation, finalizers and
graceful deletion. Handlers parse requests; this module decides what gets stored.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubeadmpy.apiserver import fields
from kubeadmpy.apiserver.storage import Storage
from kubeadmpy.machinery import jsonvalues, status
from kubeadmpy.machinery.objects import (
    format_rfc3339,
    generate_name,
    now_rfc3339,
    spec_of,
    validate_object_meta,
)
from kubeadmpy.machinery.registry import JSONObject, ResourceSpec
from kubeadmpy.machinery.status import Cause

# Metadata only the server sets; copied from the stored object on every update.
_SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                "deletionGracePeriodSeconds", "name", "namespace")
PROPAGATION_FINALIZERS = {"Foreground": "foregroundDeletion", "Orphan": "orphan"}
DELETE_RETURNS_OBJECT = frozenset({"pods", "services", "namespaces", "nodes",
                                   "persistentvolumes", "persistentvolumeclaims"})


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""


def check_kind(spec: ResourceSpec, obj: Any, *, expected_kind: str = "") -> JSONObject:
    """The body must be an object of this resource's kind (kind/apiVersion may be omitted)."""
    if not isinstance(obj, dict):
        raise status.bad_request("the body of the request must be a JSON or YAML object")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    want = expected_kind or spec.kind
    if kind and kind != want:
        raise status.bad_request(f'the kind of the object ({kind}) does not match the kind of '
                                 f'the resource ({want}): send a {want} to this URL')
    if api_version and expected_kind == "" and api_version != spec.api_version:
        raise status.bad_request(f'the API version in the data ({api_version}) does not match '
                                 f'the expected API version ({spec.api_version})')
    jsonvalues.check_depth(obj, "the object")  # a patch may nest a stored object deeper
    obj["kind"], obj["apiVersion"] = want, api_version or spec.api_version
    if not isinstance(obj.get("metadata", {}), dict):
        raise status.invalid(want, spec.group, "", [Cause(
            "FieldValueTypeInvalid", "Invalid value: must be an object", "metadata")])
    obj.setdefault("metadata", {})
    return obj


def _raise_if_invalid(spec: ResourceSpec, obj: JSONObject, causes: list[Cause]) -> None:
    if causes:
        raise status.invalid(spec.kind, spec.group, str(obj["metadata"].get("name", "")), causes)


def _validate_meta(spec: ResourceSpec, meta: JSONObject) -> list[Cause]:
    rule = spec.strategy.name_rule
    return validate_object_meta(meta, namespaced=spec.namespaced, label_name=rule == "label",
                                path_segment_name=rule == "path-segment")


def prepare_create(spec: ResourceSpec, obj: JSONObject, namespace: str) -> JSONObject:
    meta = obj["metadata"]
    if spec.namespaced:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise status.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(str(meta["generateName"]))
    for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(key, None)
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339()
    meta["generation"] = 1
    spec.strategy.prepare_for_create(obj)
    spec.strategy.default(obj)
    causes = _validate_meta(spec, meta)
    if not causes:
        causes += spec.strategy.validate(obj)
    _raise_if_invalid(spec, obj, causes)
    return obj


def check_precondition(spec: ResourceSpec, new: JSONObject, old: JSONObject) -> None:
    wanted = new.get("metadata", {}).get("resourceVersion")
    if wanted and wanted != old["metadata"]["resourceVersion"]:
        raise status.conflict(spec.plural, spec.group, old["metadata"]["name"],
                              status.STALE_OBJECT)
    uid = new.get("metadata", {}).get("uid")
    if uid and uid != old["metadata"].get("uid"):
        raise status.conflict(spec.plural, spec.group, old["metadata"]["name"],
                              f"Precondition failed: UID in precondition: {uid}, UID in object "
                              f"meta: {old['metadata'].get('uid')}")


def prepare_update(spec: ResourceSpec, new: JSONObject, old: JSONObject, *,
                   subresource: str = "", manager: str = "") -> JSONObject | None:
    """The object to store for a PUT of `new` over `old`, or None when nothing changes."""
    check_precondition(spec, new, old)
    meta, old_meta = new["metadata"], old["metadata"]
    for key in _SERVER_META:
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta["resourceVersion"] = old_meta["resourceVersion"]
    if old_meta.get("deletionTimestamp"):
        added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
        if added:
            _raise_if_invalid(spec, new, [Cause(
                "FieldValueForbidden", "Forbidden: no new finalizers can be added if the object "
                "is being deleted", "metadata.finalizers")])
    if subresource == "status":
        spec.strategy.prepare_for_status_update(new, old)
    elif subresource == "finalize":
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        new.clear()
        new.update(copy.deepcopy(old))
        new.setdefault("spec", {})["finalizers"] = finalizers
    elif subresource == "":
        spec.strategy.prepare_for_update(new, old)
    spec.strategy.default(new)
    causes = _validate_meta(spec, new["metadata"])
    if not causes and subresource != "status":
        causes += spec.strategy.validate_update(new, old)
    _raise_if_invalid(spec, new, causes)
    if spec_of(new) != spec_of(old) and "generation" in old_meta \
            and (spec.strategy.tracks_generation or spec.strategy.has_status):
        new["metadata"]["generation"] = int(old_meta.get("generation", 1)) + 1
    if manager:
        fields.track(old, new, manager, "" if subresource == "finalize" else subresource)
    if new == old:
        return None
    return new


def vanishes(spec: ResourceSpec, obj: JSONObject) -> bool:
    """An object marked for deletion goes once its finalizers are gone and the kind agrees."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") \
        and spec.strategy.ready_to_vanish(obj)


@dataclass(frozen=True)
class DeleteRequest:
    grace_seconds: int | None = None
    propagation: str = ""
    precondition_uid: str = ""
    precondition_rv: str = ""
    dry_run: bool = False


def parse_delete_options(body: Any, query: Any) -> DeleteRequest:
    options = body if isinstance(body, dict) else {}
    if body not in (None, {}) and not isinstance(body, dict):
        raise status.bad_request("DeleteOptions must be a JSON object")
    grace = options.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
    propagation = options.get("propagationPolicy") or query.get("propagationPolicy") or ""
    if not propagation and options.get("orphanDependents") is not None:
        propagation = "Orphan" if options["orphanDependents"] else "Background"
    if propagation not in ("", "Background", "Foreground", "Orphan"):
        raise status.invalid("DeleteOptions", "", "", [Cause(
            "FieldValueNotSupported", f'Unsupported value: "{propagation}": supported values: '
            '"Foreground", "Background", "Orphan"', "propagationPolicy")])
    body_dry_run = options.get("dryRun") or []
    if not isinstance(body_dry_run, list):
        raise status.bad_request(f'dryRun: must be a list of strings, got "{body_dry_run}"')
    dry_run = body_dry_run + list(query.getall("dryRun", []))
    for value in dry_run:
        if value != "All":
            raise status.bad_request(f'dryRun: unsupported value "{value}", only "All" is '
                                     "supported")
    pre = options.get("preconditions") or {}
    if not isinstance(pre, dict):
        raise status.bad_request("preconditions: must be an object with uid and resourceVersion")
    try:
        if isinstance(grace, bool) or not isinstance(grace, (int, str, type(None))):
            raise TypeError(grace)  # int() would turn true into 1 and 1.5 into 1
        grace_seconds = None if grace in (None, "") else int(grace)
    except (TypeError, ValueError) as exc:
        raise status.bad_request(f'gracePeriodSeconds: invalid value "{grace}"') from exc
    return DeleteRequest(grace_seconds, propagation, str(pre.get("uid") or ""),
                         str(pre.get("resourceVersion") or ""), bool(dry_run))


async def delete_object(storage: Storage, spec: ResourceSpec, namespace: str, name: str,
                        request: DeleteRequest, env: Any) -> tuple[JSONObject, bool]:
    """Delete now or mark for deletion. Returns (object as last seen, removed_now)."""
    removed = False

    async def mark(current: JSONObject) -> JSONObject | None:
        nonlocal removed
        meta = current["metadata"]
        if request.precondition_uid and request.precondition_uid != meta.get("uid"):
            raise status.conflict(spec.plural, spec.group, name, "Precondition failed: UID in "
                                  f"precondition: {request.precondition_uid}, UID in object meta: "
                                  f"{meta.get('uid')}")
        if request.precondition_rv and request.precondition_rv != meta["resourceVersion"]:
            raise status.conflict(spec.plural, spec.group, name, status.STALE_OBJECT)
        finalizer = PROPAGATION_FINALIZERS.get(request.propagation)
        if finalizer and finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), finalizer]
        if meta.get("deletionTimestamp"):
            if request.grace_seconds == 0 and meta.get("deletionGracePeriodSeconds"):
                meta["deletionGracePeriodSeconds"] = 0
            if vanishes(spec, current):
                removed = True
                return current
            return current
        graceful = spec.strategy.begin_delete(current, request.grace_seconds)
        if not graceful and not meta.get("finalizers"):
            removed = True
            return current
        grace = int(meta.get("deletionGracePeriodSeconds") or 0)
        meta["deletionTimestamp"] = format_rfc3339(time.time() + grace)
        if graceful:
            meta["deletionGracePeriodSeconds"] = grace
        else:
            meta["deletionGracePeriodSeconds"] = 0
        return current

    async def mutate(current: JSONObject) -> JSONObject | None:
        result = await mark(current)
        return None if removed else result

    while True:
        removed = False
        new, old = await storage.update(spec, namespace, name, mutate, dry_run=request.dry_run)
        if not removed:
            return new, False
        if request.dry_run:
            return old, True
        try:
            await storage.delete(spec, old)
        except status.APIStatusError as exc:
            if exc.code == 409:
                continue  # someone wrote in between: decide again on the fresh object
            raise
        await spec.strategy.after_delete(old, env)
        return old, True


async def finish_if_vanishing(storage: Storage, spec: ResourceSpec, obj: JSONObject,
                              env: Any) -> bool:
    """After an update: remove the object if it was the last finalizer holding it."""
    if not vanishes(spec, obj):
        return False
    try:
        await storage.delete(spec, obj)
    except status.APIStatusError as exc:
        if exc.code in (404, 409):
            return False
        raise
    await spec.strategy.after_delete(obj, env)
    return True


UpdateFn = Callable[[JSONObject], Awaitable[JSONObject | None]]


def deep(obj: JSONObject) -> JSONObject:
    return copy.deepcopy(obj)
