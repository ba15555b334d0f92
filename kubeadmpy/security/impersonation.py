"""User impersonation (`kubectl --as/--as-group/--as-uid`, the Impersonate-* headers).

As upstream's impersonation filter: every impersonated attribute needs the `impersonate` verb on
it — users or serviceaccounts (core), groups (core), uids and userextras/<key>
(authentication.k8s.io), extras with the key as subresource — checked with the real user's rights; then the request runs as the
impersonated user, with system:authenticated (or system:unauthenticated for system:anonymous)
and the service-account groups added as upstream adds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from kubeadmpy.errors import KubeadmpyError
from kubeadmpy.security.identity import (
    ANONYMOUS_USER,
    AUTHENTICATED,
    SERVICEACCOUNTS_GROUP,
    UNAUTHENTICATED,
    Attributes,
    UserInfo,
    Verdict,
    forbidden_message,
    split_service_account_username,
)

USER_HEADER = "impersonate-user"
GROUP_HEADER = "impersonate-group"
UID_HEADER = "impersonate-uid"
EXTRA_PREFIX = "impersonate-extra-"


class ImpersonationError(KubeadmpyError):
    """A refused impersonation: `code` 400 (malformed headers) or 403 (not allowed)."""

    def __init__(self, message: str, code: int) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Requested:
    user: str
    groups: tuple[str, ...]
    uid: str
    extra: dict[str, tuple[str, ...]]


def requested(headers: Iterable[tuple[str, str]]) -> Requested | None:
    """The impersonation asked for by the headers, None when there is none."""
    user, uid, seen = "", "", False
    groups: list[str] = []
    extra: dict[str, list[str]] = {}
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == USER_HEADER:
            user, seen = value, True
        elif name == GROUP_HEADER:
            groups.append(value)
            seen = True
        elif name == UID_HEADER:
            uid, seen = value, True
        elif name.startswith(EXTRA_PREFIX):
            key = unquote(name[len(EXTRA_PREFIX):])
            extra.setdefault(key, []).append(value)
            seen = True
    if not seen:
        return None
    if not user:
        raise ImpersonationError("requested impersonation of groups, uid or extra fields "
                                 "without impersonating a user", 400)
    return Requested(user, tuple(groups), uid,
                     {k: tuple(v) for k, v in extra.items()})


def impersonate(user: UserInfo, headers: Iterable[tuple[str, str]],
                authorize: Callable[[Attributes], Verdict]) -> UserInfo:
    """The user the request runs as: `user` itself, or whom it may impersonate."""
    wanted = requested(headers)
    if wanted is None:
        return user

    def check(resource: str, name: str, group: str = "", namespace: str = "",
              subresource: str = "") -> None:
        attrs = Attributes(user, "impersonate", True, group, "", resource, subresource,
                           namespace, name)
        verdict = authorize(attrs)
        if not verdict.allowed:
            raise ImpersonationError(forbidden_message(attrs, verdict.reason), 403)

    service_account = split_service_account_username(wanted.user)
    if service_account is not None:
        check("serviceaccounts", service_account[1], namespace=service_account[0])
    else:
        check("users", wanted.user)
    for group in wanted.groups:
        check("groups", group)
    if wanted.uid:
        check("uids", wanted.uid, "authentication.k8s.io")
    for key, values in wanted.extra.items():
        for value in values:
            check("userextras", value, "authentication.k8s.io", subresource=key)
    groups = list(wanted.groups)
    if service_account is not None:
        groups += [SERVICEACCOUNTS_GROUP, f"{SERVICEACCOUNTS_GROUP}:{service_account[0]}"]
    if wanted.user == ANONYMOUS_USER:
        groups.append(UNAUTHENTICATED)
    elif AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(wanted.user, wanted.uid, tuple(dict.fromkeys(groups)), wanted.extra)
