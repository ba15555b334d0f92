"""Review resources that are answered, never stored: `kubectl auth whoami` (SelfSubjectReview),
`kubectl auth can-i` (SelfSubjectAccessReview, SelfSubjectRulesReview), SubjectAccessReview and
TokenReview — answered by the security stack (kubeadmpy.security) for the calling user.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubeadmpy.apiserver import negotiation
from kubeadmpy.machinery import status
from kubeadmpy.machinery.registry import ResourceSpec
from kubeadmpy.security.identity import UserInfo
from kubeadmpy.security.reviews import ReviewInvalid
from kubeadmpy.security.stack import SecurityStack

AUTHN = "authentication.k8s.io"
AUTHZ = "authorization.k8s.io"

REVIEW_SPECS = (
    *(ResourceSpec(AUTHN, version, "SelfSubjectReview", "selfsubjectreviews",
                   "selfsubjectreview", False, verbs=("create",))
      for version in ("v1", "v1beta1", "v1alpha1")),
    ResourceSpec(AUTHN, "v1", "TokenReview", "tokenreviews", "tokenreview", False,
                 verbs=("create",)),
    ResourceSpec(AUTHZ, "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                 "selfsubjectaccessreview", False, verbs=("create",)),
    ResourceSpec(AUTHZ, "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                 "selfsubjectrulesreview", False, verbs=("create",)),
    ResourceSpec(AUTHZ, "v1", "SubjectAccessReview", "subjectaccessreviews",
                 "subjectaccessreview", False, verbs=("create",)),
)
_BY_PLURAL = {(s.group, s.version, s.plural): s for s in REVIEW_SPECS}


def review_spec(path: str) -> ResourceSpec | None:
    parts = path.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "apis":
        return _BY_PLURAL.get((parts[1], parts[2], parts[3]))
    return None


async def answer(request: web.Request, spec: ResourceSpec, user: UserInfo,
                 security: SecurityStack) -> web.Response:
    if request.method != "POST":
        raise status.method_not_allowed()
    raw = await negotiation.read_body(request)
    body: Any = negotiation.decode_body(raw, request.headers.get("Content-Type", ""),
                                        negotiation.GVKHint(spec.group, spec.version, spec.kind))
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise status.bad_request(f"the body must be a {spec.kind} object")
    body.setdefault("apiVersion", spec.api_version)
    body.setdefault("kind", spec.kind)
    try:
        if spec.kind == "SelfSubjectReview":
            review = security.self_subject_review(body, user)
        elif spec.kind == "SelfSubjectAccessReview":
            review = security.self_subject_access_review(body, user)
        elif spec.kind == "SelfSubjectRulesReview":
            review = security.self_subject_rules_review(body, user)
        elif spec.kind == "SubjectAccessReview":
            review = security.subject_access_review(body)
        else:
            review = security.token_review(body)
    except ReviewInvalid as exc:
        raise status.invalid(spec.kind, spec.group, "", [status.Cause(
            "FieldValueInvalid", exc.problem, exc.field)]) from exc
    review["apiVersion"] = spec.api_version  # v1beta1/v1alpha1 whoami of kubectl 1.27
    return negotiation.respond(review, 201)
