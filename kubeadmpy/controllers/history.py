"""ControllerRevision history for the DaemonSet and StatefulSet controllers (upstream's
controller/history): one revision per pod template, named `<owner>-<template hash>`, numbered
in order, so `kubectl rollout history/undo` works on both kinds the same way.
"""

from __future__ import annotations

import contextlib
import copy

from kubeadmpy.client import errors
from kubeadmpy.client.informer import Informer
from kubeadmpy.client.rest import Client
from kubeadmpy.controllers.common import JSONObject, controller_ref, meta

REVISION_HASH = "controller-revision-hash"


async def ensure_revision(client: Client, revisions: Informer, owner: JSONObject,
                          digest: str) -> None:
    """Make the revision of `owner`'s current template (hash `digest`) exist and be the newest."""
    name = f"{meta(owner)['name']}-{digest}"
    ns = str(meta(owner)["namespace"])
    numbers = [int(r.get("revision") or 0) for r in revisions.store.list(ns)
               if any(ref.get("uid") == meta(owner)["uid"]
                      for ref in meta(r).get("ownerReferences") or [])]
    existing = revisions.store.get(f"{ns}/{name}")
    if existing is not None:
        # a template coming back (rollout undo) becomes the newest revision, as upstream
        if int(existing.get("revision") or 0) < max(numbers or [0]):
            with contextlib.suppress(errors.NotFound, errors.Conflict):
                await client.update("controllerrevisions", {
                    **existing, "revision": max(numbers) + 1}, ns)
        return
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {**((template.get("metadata") or {}).get("labels")
                                       or {}), REVISION_HASH: digest},
                         "ownerReferences": [controller_ref(owner)]},
            "data": {"spec": {"template": template}},
            "revision": max(numbers or [0]) + 1}
    with contextlib.suppress(errors.AlreadyExists):
        await client.create("controllerrevisions", body, ns)
