"""The TokenRequest subresource (`POST .../serviceaccounts/<name>/token`) as a pure function.

Validates the request as upstream does (expirationSeconds at least 10 minutes, bound object of
kind Pod, Secret or Node that exists with the given uid, a pod that runs as this service
account), issues the token and returns the authentication.k8s.io/v1 TokenRequest to send back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubeadmpy.errors import UserInputError
from kubeadmpy.security.serviceaccount import BoundObject, ObjectGetters, TokenIssuer

MIN_EXPIRATION_SECONDS = 600
DEFAULT_EXPIRATION_SECONDS = 3600
MAX_EXPIRATION_SECONDS = 2**32
BINDABLE_KINDS = ("Pod", "Secret", "Node")


class TokenRequestInvalid(UserInputError):
    """A TokenRequest the server answers with 422 Invalid (field names the JSON path)."""


class TokenRequestNotFound(UserInputError):
    """The bound object does not exist (404-like, but upstream answers 422 for uid mismatch)."""


def create_token(request: Mapping[str, Any], namespace: str,
                 service_account: Mapping[str, Any], issuer: TokenIssuer,
                 getters: ObjectGetters, api_audiences: Sequence[str]) -> dict[str, Any]:
    """Issue a token for `service_account` and return the filled-in TokenRequest."""
    spec = request.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise TokenRequestInvalid("spec", "must be an object")
    # A null is an unset field (kubectl 1.27 sends `"audiences": null` and the like), as
    # decoding into Go structs makes it upstream.
    spec = {key: value for key, value in spec.items() if value is not None}
    seconds = spec.get("expirationSeconds", DEFAULT_EXPIRATION_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TokenRequestInvalid("spec.expirationSeconds", f"{seconds!r} is not an integer")
    if seconds < MIN_EXPIRATION_SECONDS:
        raise TokenRequestInvalid("spec.expirationSeconds", f"{seconds}: may not specify a "
                                  "duration less than 10 minutes")
    if seconds > MAX_EXPIRATION_SECONDS:
        raise TokenRequestInvalid("spec.expirationSeconds", f"{seconds}: may not specify a "
                                  "duration larger than 2^32 seconds")
    audiences = spec.get("audiences") or list(api_audiences)
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        raise TokenRequestInvalid("spec.audiences", "must be a list of non-empty strings")
    sa_meta = service_account.get("metadata") or {}
    sa_name, sa_uid = str(sa_meta.get("name", "")), str(sa_meta.get("uid", ""))
    bound, node = _bound_object(spec.get("boundObjectRef"), namespace, sa_name, getters)
    token, expires = issuer.issue(namespace, sa_name, sa_uid, audiences, seconds, bound, node)
    out_spec = dict(spec)
    out_spec["audiences"] = audiences
    out_spec["expirationSeconds"] = seconds
    out_spec.setdefault("boundObjectRef", None)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa_name, "namespace": namespace,
                     "creationTimestamp": issuer.clock().strftime("%Y-%m-%dT%H:%M:%SZ")},
        "spec": out_spec,
        "status": {"token": token,
                   "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def _bound_object(ref: Any, namespace: str, sa_name: str,
                  getters: ObjectGetters) -> tuple[BoundObject | None, BoundObject | None]:
    if not ref:
        return None, None
    if not isinstance(ref, Mapping):
        raise TokenRequestInvalid("spec.boundObjectRef", "must be an object")
    kind, name, uid = (str(ref.get(k) or "") for k in ("kind", "name", "uid"))
    if kind not in BINDABLE_KINDS:
        raise TokenRequestInvalid("spec.boundObjectRef.kind", f"{kind!r}: must be one of "
                                  f"{', '.join(BINDABLE_KINDS)}")
    if (ref.get("apiVersion") or "v1") != "v1":
        raise TokenRequestInvalid("spec.boundObjectRef.apiVersion",
                                  f"{ref.get('apiVersion')!r}: must be v1")
    if not name:
        raise TokenRequestInvalid("spec.boundObjectRef.name", "required")
    getter = {"Pod": getters.pod, "Secret": getters.secret, "Node": getters.node}[kind]
    obj = getter("" if kind == "Node" else namespace, name) if getter else None
    if obj is None:
        raise TokenRequestNotFound("spec.boundObjectRef", f"{kind.lower()} {name!r} not found")
    actual_uid = str((obj.get("metadata") or {}).get("uid", ""))
    if uid and uid != actual_uid:
        raise TokenRequestInvalid("spec.boundObjectRef.uid", f"{uid!r}: the {kind} {name!r} "
                                  f"has uid {actual_uid!r}")
    bound = BoundObject(kind, name, actual_uid)
    if kind != "Pod":
        return bound, None
    pod_sa = str((obj.get("spec") or {}).get("serviceAccountName") or "default")
    if pod_sa != sa_name:
        raise TokenRequestInvalid("spec.boundObjectRef.name", f"cannot bind a token for "
                                  f"serviceaccount {sa_name!r} to pod {name!r}, which runs as "
                                  f"{pod_sa!r}")
    node_name = str((obj.get("spec") or {}).get("nodeName") or "")
    node_obj = getters.node("", node_name) if node_name and getters.node else None
    if node_obj is None:
        return bound, None
    return bound, BoundObject("Node", node_name,
                              str((node_obj.get("metadata") or {}).get("uid", "")))
