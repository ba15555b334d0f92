"""Review resources that are answered, never stored: `kubectl auth whoami` (SelfSubjectReview)
and `kubectl auth can-i` (SelfSubjectAccessReview, SelfSubjectRulesReview).

Answers follow the interim policy of kubeadmpy.apiserver.auth (system:masters may do
everything); the RBAC issue replaces `_allowed` with a real authorizer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubeadmpy.apiserver import negotiation
from kubeadmpy.apiserver.auth import MASTERS, UserInfo
from kubeadmpy.machinery import status
from kubeadmpy.machinery.objects import now_rfc3339
from kubeadmpy.machinery.registry import ResourceSpec

AUTHN = "authentication.k8s.io"
AUTHZ = "authorization.k8s.io"

REVIEW_SPECS = (
    *(ResourceSpec(AUTHN, version, "SelfSubjectReview", "selfsubjectreviews",
                   "selfsubjectreview", False, verbs=("create",))
      for version in ("v1", "v1beta1", "v1alpha1")),
    ResourceSpec(AUTHZ, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                 "selfsubjectaccessreview", False, verbs=("create",)),
    ResourceSpec(AUTHZ, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                 "selfsubjectrulesreview", False, verbs=("create",)),
)
_BY_PLURAL = {(s.group, s.version, s.plural): s for s in REVIEW_SPECS}


def review_spec(path: str) -> ResourceSpec | None:
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "apis":
        return _BY_PLURAL.get((parts[1], parts[2], parts[3]))
    return None


def _allowed(user: UserInfo) -> bool:
    return MASTERS in user.groups


async def answer(request: web.Request, spec: ResourceSpec, user: UserInfo) -> web.Response:
    if request.method != "POST":
        raise status.method_not_allowed()
    raw = await negotiation.read_body(request)
    body: Any = negotiation.decode_body(raw, request.headers.get("Content-Type", ""),
                                        negotiation.GVKHint(spec.group, spec.version, spec.kind))
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise status.bad_request(f"the body must be a {spec.kind} object")
    review: dict[str, Any] = {"kind": spec.kind, "apiVersion": spec.api_version,
                              "metadata": {"creationTimestamp": now_rfc3339()},
                              "spec": body.get("spec") or {}}
    if spec.kind == "SelfSubjectReview":
        review.pop("spec")
        review["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
    elif spec.kind == "SelfSubjectAccessReview":
        attributes = review["spec"]
        if not attributes.get("resourceAttributes") and not attributes.get(
                "nonResourceAttributes"):
            raise status.invalid(spec.kind, spec.group, "", [status.Cause(
                "FieldValueRequired", "Required value: exactly one of nonResourceAttributes "
                "or resourceAttributes must be specified", "spec.resourceAttributes")])
        allowed = _allowed(user)
        review["status"] = {"allowed": allowed} if allowed else {
            "allowed": False, "reason": "only members of system:masters are authorized until "
                                        "RBAC is enabled"}
    else:
        everything = _allowed(user)
        review["status"] = {
            "resourceRules": ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
                              if everything else []),
            "nonResourceRules": [{"verbs": ["*"] if everything else ["get"],
                                  "nonResourceURLs": ["*"] if everything else
                                  ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                   "/readyz", "/version", "/openapi", "/openapi/*"]}],
            "incomplete": False}
    return negotiation.respond(review, 201)
