"""Request and response logic of the review APIs the server routes POSTs to.

SelfSubjectAccessReview / SubjectAccessReview / LocalSubjectAccessReview (authorization.k8s.io/v1),
SelfSubjectRulesReview (`kubectl auth can-i --list`), TokenReview and SelfSubjectReview
(`kubectl auth whoami`). Each function takes the decoded request body and returns the object
to answer with (HTTP 201), with `status` filled as upstream fills it. Malformed requests raise
`ReviewInvalid`, which the server turns into 422 Invalid naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubeadmpy.errors import UserInputError
from kubeadmpy.security.authn import TokenAuthenticator, authenticate_token
from kubeadmpy.security.identity import (
    Attributes,
    Decision,
    UserInfo,
    Verdict,
    with_authenticated_group,
)
from kubeadmpy.security.rbac_rules import Rule

Authorize = Callable[[Attributes], Verdict]
RulesFor = Callable[[UserInfo, str], tuple[list[Rule], list[str]]]


class ReviewInvalid(UserInputError):
    """A review request the server rejects with 422 (the field is the JSON path)."""


def _response(request: Mapping[str, Any], kind: str, group_version: str,
              status: dict[str, Any]) -> dict[str, Any]:
    meta = dict(request.get("metadata") or {})
    meta.setdefault("creationTimestamp", None)
    out: dict[str, Any] = {"kind": kind, "apiVersion": request.get("apiVersion")
                           or group_version, "metadata": meta}
    if "spec" in request:
        out["spec"] = request["spec"]
    out["status"] = status
    return out


def _spec(request: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = request.get("spec")
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise ReviewInvalid("spec", "must be an object")
    return spec


def _attributes(user: UserInfo, spec: Mapping[str, Any]) -> Attributes:
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if bool(resource) == bool(non_resource):
        raise ReviewInvalid("spec.resourceAttributes",
                            "exactly one of nonResourceAttributes or resourceAttributes "
                            "must be specified")
    if resource:
        if not isinstance(resource, Mapping):
            raise ReviewInvalid("spec.resourceAttributes", "must be an object")
        values = {k: str(resource.get(k) or "") for k in
                  ("verb", "group", "version", "resource", "subresource", "namespace", "name")}
        return Attributes(user, values["verb"], True, values["group"], values["version"],
                          values["resource"], values["subresource"], values["namespace"],
                          values["name"])
    if not isinstance(non_resource, Mapping):
        raise ReviewInvalid("spec.nonResourceAttributes", "must be an object")
    return Attributes(user, str(non_resource.get("verb") or ""), False,
                      path=str(non_resource.get("path") or ""))


def _access_status(verdict: Verdict) -> dict[str, Any]:
    status: dict[str, Any] = {"allowed": verdict.decision is Decision.ALLOW}
    if verdict.decision is Decision.DENY:
        status["denied"] = True
    if verdict.reason:
        status["reason"] = verdict.reason
    if verdict.error:
        status["evaluationError"] = verdict.error
    return status


def self_subject_access_review(request: Mapping[str, Any], user: UserInfo,
                               authorize: Authorize) -> dict[str, Any]:
    attrs = _attributes(user, _spec(request))
    return _response(request, "SelfSubjectAccessReview", "authorization.k8s.io/v1",
                     _access_status(authorize(attrs)))


def subject_access_review(request: Mapping[str, Any], authorize: Authorize,
                          namespace: str | None = None) -> dict[str, Any]:
    """SubjectAccessReview, or LocalSubjectAccessReview when `namespace` (from the URL) is set."""
    spec = _spec(request)
    name, groups = spec.get("user") or "", spec.get("groups") or []
    if not isinstance(name, str) or not isinstance(groups, list):
        raise ReviewInvalid("spec.user", "user must be a string and groups a list")
    if not name and not groups:
        raise ReviewInvalid("spec.user", "at least one of user or group must be specified")
    extra = spec.get("extra") or {}
    user = UserInfo(name, str(spec.get("uid") or ""), tuple(str(g) for g in groups),
                    {str(k): tuple(str(x) for x in v) for k, v in extra.items()
                     if isinstance(v, list)} if isinstance(extra, Mapping) else {})
    attrs = _attributes(user, spec)
    kind = "SubjectAccessReview"
    if namespace is not None:
        kind = "LocalSubjectAccessReview"
        if not attrs.is_resource_request or attrs.namespace != namespace:
            raise ReviewInvalid("spec.resourceAttributes.namespace",
                                f"{attrs.namespace!r} must match metadata.namespace "
                                f"{namespace!r}")
    return _response(request, kind, "authorization.k8s.io/v1",
                     _access_status(authorize(attrs)))


def _rule_lists(rules: Sequence[Rule]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    resource_rules: list[dict[str, Any]] = []
    non_resource_rules: list[dict[str, Any]] = []
    for rule in rules:
        if rule.resources or rule.api_groups:
            entry: dict[str, Any] = {"verbs": sorted(rule.verbs),
                                     "apiGroups": sorted(rule.api_groups),
                                     "resources": sorted(rule.resources)}
            if rule.resource_names:
                entry["resourceNames"] = sorted(rule.resource_names)
            resource_rules.append(entry)
        if rule.non_resource_urls:
            non_resource_rules.append({"verbs": sorted(rule.verbs),
                                       "nonResourceURLs": sorted(rule.non_resource_urls)})
    return resource_rules, non_resource_rules


def self_subject_rules_review(request: Mapping[str, Any], user: UserInfo,
                              rules_for: RulesFor,
                              extra_rules: Sequence[Rule] = ()) -> dict[str, Any]:
    """`extra_rules` are what other authorizers grant (e.g. the Node authorizer's fixed set)."""
    namespace = _spec(request).get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise ReviewInvalid("spec.namespace", "no namespace on request")
    rules, errors = rules_for(user, namespace)
    resource_rules, non_resource_rules = _rule_lists([*extra_rules, *rules])
    status: dict[str, Any] = {"resourceRules": resource_rules,
                              "nonResourceRules": non_resource_rules,
                              "incomplete": bool(errors)}
    if errors:
        status["evaluationError"] = ", ".join(errors)
    return _response(request, "SelfSubjectRulesReview", "authorization.k8s.io/v1", status)


def token_review(request: Mapping[str, Any], authenticators: Sequence[TokenAuthenticator],
                 default_audiences: Sequence[str]) -> dict[str, Any]:
    spec = _spec(request)
    token = spec.get("token")
    if not isinstance(token, str) or not token:
        raise ReviewInvalid("spec.token", "token is required")
    wanted = spec.get("audiences") or list(default_audiences)
    if not isinstance(wanted, list):
        raise ReviewInvalid("spec.audiences", "must be a list of strings")
    result = authenticate_token(authenticators, token, tuple(str(a) for a in wanted))
    status: dict[str, Any] = {"user": {}}
    if result.user is not None:
        # as the server's own authentication would, the user is also system:authenticated
        status = {"authenticated": True,
                  "user": with_authenticated_group(result.user).as_api(),
                  "audiences": list(result.audiences or wanted)}
    else:
        # upstream does not tell the caller why a token was refused beyond this
        status["error"] = "[invalid bearer token, token lookup failed]"
    return _response(request, "TokenReview", "authentication.k8s.io/v1", status)


def self_subject_review(request: Mapping[str, Any], user: UserInfo) -> dict[str, Any]:
    out = _response(request, "SelfSubjectReview", "authentication.k8s.io/v1",
                    {"userInfo": user.as_api()})
    out.pop("spec", None)
    return out
