"""Who is asking and what they ask for: the values authentication produces and authorizers judge.

`UserInfo` and `Attributes` mirror upstream's user.Info and authorizer.Attributes so that the
RBAC, Node and review logic can be read side by side with kube-apiserver's. `request_attributes`
derives the attributes from an HTTP method and path the way upstream's RequestInfoFactory does,
so the server and the review APIs name verbs and resources identically.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"
MASTERS = "system:masters"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
SERVICEACCOUNT_USER_PREFIX = "system:serviceaccount:"
SERVICEACCOUNTS_GROUP = "system:serviceaccounts"
BOOTSTRAPPERS_GROUP = "system:bootstrappers"


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) identity, as upstream's user.DefaultInfo."""

    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def as_api(self) -> dict[str, object]:
        """The authentication.k8s.io UserInfo shape (TokenReview, SelfSubjectReview)."""
        out: dict[str, object] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        if self.extra:
            out["extra"] = {k: list(v) for k, v in self.extra.items()}
        return out


ANONYMOUS = UserInfo(ANONYMOUS_USER, groups=(UNAUTHENTICATED,))


def with_authenticated_group(user: UserInfo) -> UserInfo:
    """Every authenticated user is also in system:authenticated (upstream's group adder)."""
    if AUTHENTICATED in user.groups or user.name == ANONYMOUS_USER:
        return user
    return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED), user.extra)


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICEACCOUNT_USER_PREFIX}{namespace}:{name}"


def split_service_account_username(username: str) -> tuple[str, str] | None:
    """(namespace, name) for `system:serviceaccount:<ns>:<name>`, else None."""
    if not username.startswith(SERVICEACCOUNT_USER_PREFIX):
        return None
    parts = username[len(SERVICEACCOUNT_USER_PREFIX):].split(":")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def node_name_of(user: UserInfo) -> str | None:
    """The node name of a kubelet identity (system:node:<name> in system:nodes), else None."""
    if NODES_GROUP not in user.groups or not user.name.startswith(NODE_USER_PREFIX):
        return None
    return user.name[len(NODE_USER_PREFIX):]


@dataclass(frozen=True)
class Attributes:
    """One request as an authorizer sees it (upstream authorizer.AttributesRecord)."""

    user: UserInfo
    verb: str
    is_resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def qualified_resource(self) -> str:
        return f"{self.resource}.{self.api_group}" if self.api_group else self.resource


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NO_OPINION = "no-opinion"


@dataclass(frozen=True)
class Verdict:
    """An authorizer's answer with the reason upstream would put in logs and reviews."""

    decision: Decision
    reason: str = ""
    error: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


NO_OPINION = Verdict(Decision.NO_OPINION)

_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "GET": "get",
                 "HEAD": "get", "DELETE": "delete"}
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def request_attributes(user: UserInfo, method: str, path: str, query: str = "") -> Attributes:
    """Derive verb, group, resource, namespace and name from an API request, as upstream does."""
    method = method.upper()
    verb = _METHOD_VERBS.get(method, method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return Attributes(user, verb, is_resource_request=False, path=path or "/")
    if parts[0] == "api":
        group, rest = "", parts[1:]
        if not rest:
            return Attributes(user, verb, is_resource_request=False, path=path)
        version, rest = rest[0], rest[1:]
    else:
        if len(parts) < 3:
            return Attributes(user, verb, is_resource_request=False, path=path)
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Attributes(user, verb, is_resource_request=False, path=path)
    if rest[0] in _SPECIAL_VERBS and len(rest) > 1:
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 2:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb in ("get", "delete"):
        params = parse_qs(query)
        watching = params.get("watch", [""])[0].lower() in ("1", "true")
        verb = {"get": "watch" if watching else "list", "delete": "deletecollection"}[verb]
        if verb in ("list", "watch"):
            # a list or watch of one object by name is judged as that object (upstream)
            name = _exact_name(params.get("fieldSelector", [""])[0])
    return Attributes(user, verb, True, group, version, resource, subresource, namespace, name,
                      path)


def _exact_name(field_selector: str) -> str:
    """X of a `metadata.name=X` (or ==) requirement in a field selector, else ""."""
    for requirement in field_selector.split(","):
        key, sep, value = requirement.partition("==")
        if not sep:
            key, sep, value = requirement.partition("=")
        if sep and key.strip() == "metadata.name" and not key.endswith("!"):
            value = value.strip()
            if value and "/" not in value and value not in (".", ".."):
                return value
    return ""


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """The 403 Status message kube-apiserver writes for a refused request."""
    who = attrs.user.name
    if not attrs.is_resource_request:
        text = f'User "{who}" cannot {attrs.verb} path "{attrs.path}"'
        prefix = "forbidden: "
    else:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        scope = (f'in the namespace "{attrs.namespace}"' if attrs.namespace
                 else "at the cluster scope")
        text = (f'User "{who}" cannot {attrs.verb} resource "{resource}" in API group '
                f'"{attrs.api_group}" {scope}')
        named = f' "{attrs.name}"' if attrs.name else ""
        prefix = f"{attrs.qualified_resource}{named} is forbidden: "
    if reason:
        text += f": {reason}"
    return prefix + text
