"""One object the API server builds from its flags and asks every security question.

`SecuritySettings.from_flags` reads the upstream flag values (--client-ca-file,
--anonymous-auth, --enable-bootstrap-token-auth, --service-account-*, --api-audiences,
--authorization-mode, --enable-admission-plugins, --encryption-provider-config) and
`build_stack` loads keys, CAs and the encryption configuration — refusing to start with a clear
error if any is unusable — and wires the authenticators, authorizers and admission plugins.
Admission runs NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction, Priority,
DefaultTolerationSeconds and ResourceQuota (those enabled) in upstream's order. The server supplies objects
through `ClusterObjects` (its watch cache; an optional `list(resource)` lets Priority find a
globalDefault class and LimitRanger a namespace's LimitRanges) and feeds RBAC objects to
`stack.rbac` as they change; everything else is a method call per request.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kubeadmpy.errors import UserInputError
from kubeadmpy.security import (
    encryption_config,
    escalation,
    impersonation,
    jws,
    reviews,
    tokenrequest,
)
from kubeadmpy.security.authn import (
    AuthenticationChain,
    Authenticator,
    AuthResult,
    BearerTokenAuthenticator,
    Credentials,
    TokenAuthenticator,
)
from kubeadmpy.security.authorizer import (
    AlwaysAllow,
    AlwaysDeny,
    Authorizer,
    AuthorizerChain,
    parse_modes,
)
from kubeadmpy.security.bootstrap_policy import node_rules
from kubeadmpy.security.bootstrap_tokens import BootstrapTokenAuthenticator
from kubeadmpy.security.encryption import EncryptionTransformers
from kubeadmpy.security.identity import Attributes, UserInfo, Verdict, node_name_of
from kubeadmpy.security.limit_ranger import LimitRanger
from kubeadmpy.security.namespace_lifecycle import NamespaceLifecycle
from kubeadmpy.security.node_authorizer import NodeAuthorizer
from kubeadmpy.security.node_restriction import AdmissionRequest, NodeRestriction
from kubeadmpy.security.priority_admission import PriorityAdmission
from kubeadmpy.security.rbac import RBACAuthorizer
from kubeadmpy.security.rbac_rules import Rule, rules_from_api
from kubeadmpy.security.resource_quota_admission import ResourceQuotaAdmission
from kubeadmpy.security.serviceaccount import (
    ObjectGetters,
    ServiceAccountAuthenticator,
    TokenIssuer,
)
from kubeadmpy.security.serviceaccount_admission import ServiceAccountAdmission
from kubeadmpy.security.token_cache import CachedTokenAuthenticator
from kubeadmpy.security.toleration_admission import DefaultTolerationSeconds
from kubeadmpy.security.x509_auth import X509Authenticator, load_ca_bundle

log = logging.getLogger(__name__)

# upstream's order among the plugins implemented here
SUPPORTED_ADMISSION = ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction",
                       "Priority", "DefaultTolerationSeconds", "ResourceQuota")
# Enabled without being named in --enable-admission-plugins, as upstream (which enables more
# by default: kubeadm's manifest names only NodeRestriction); --disable-admission-plugins
# turns them off.
DEFAULT_ON_ADMISSION = ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "Priority",
                        "DefaultTolerationSeconds", "ResourceQuota")
# Every plugin name kube-apiserver 1.33 registers: those not implemented here are accepted and
# logged at start (a manifest written for upstream still starts); any other name is an error,
# as upstream refuses an unregistered plugin.
UPSTREAM_ADMISSION = frozenset((
    "AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval",
    "CertificateSigning", "CertificateSubjectRestriction", "ClusterTrustBundleAttest",
    "DefaultIngressClass", "DefaultStorageClass", "DefaultTolerationSeconds",
    "DenyServiceExternalIPs", "EventRateLimit", "ExtendedResourceToleration",
    "ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology", "LimitRanger",
    "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "NamespaceAutoProvision",
    "NamespaceExists", "NamespaceLifecycle", "NodeRestriction",
    "OwnerReferencesPermissionEnforcement", "PersistentVolumeClaimResize", "PodNodeSelector",
    "PodSecurity", "PodTolerationRestriction", "PodTopologyLabels", "Priority", "ResourceQuota",
    "RuntimeClass", "ServiceAccount", "StorageObjectInUseProtection", "TaintNodesByCondition",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook"))


class ClusterObjects(Protocol):
    """Reads the security checks need, answered from the server's caches (never etcd)."""

    def get(self, resource: str, namespace: str, name: str) -> Mapping[str, Any] | None: ...

    def pods_on_node(self, node_name: str) -> Iterable[Mapping[str, Any]]: ...


class AdmissionPlugin(Protocol):
    def admit(self, request: AdmissionRequest) -> Mapping[str, Any] | None: ...


def _values(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A repeatable or comma-separated flag's values."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(v.strip() for item in items for v in item.split(",") if v.strip())


def _bool(flag: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise UserInputError(f"--{flag}", f"{value!r} is not a boolean", "Use true or false")


def _admission_names(flag: str, flags: Mapping[str, Any]) -> tuple[str, ...]:
    names = tuple(n for n in _values(flags.get(flag)) if n)
    for name in names:
        if name not in UPSTREAM_ADMISSION:
            guess = difflib.get_close_matches(name, sorted(UPSTREAM_ADMISSION), n=1)
            fix = f'Did you mean "{guess[0]}"?' if guess else \
                "Use kube-apiserver's plugin names, e.g. NodeRestriction"
            raise UserInputError(f"--{flag}", f'"{name}" is not an admission plugin', fix)
    return names


@dataclass(frozen=True)
class SecuritySettings:
    client_ca_file: str = ""
    anonymous_auth: bool = True
    enable_bootstrap_token_auth: bool = False
    service_account_issuers: tuple[str, ...] = ()
    service_account_key_files: tuple[str, ...] = ()
    service_account_signing_key_file: str = ""
    api_audiences: tuple[str, ...] = ()
    authorization_modes: tuple[str, ...] = ("AlwaysAllow",)  # kube-apiserver's default
    admission_plugins: tuple[str, ...] = ()
    unimplemented_admission: tuple[str, ...] = ()  # upstream plugins asked for, not built here
    encryption_provider_config: str = ""

    @classmethod
    def from_flags(cls, flags: Mapping[str, Any]) -> SecuritySettings:
        """Settings from flag name (without dashes) → value (str, or a list when repeated)."""
        def one(name: str) -> str:
            values = _values(flags.get(name))
            return values[-1] if values else ""

        modes = one("authorization-mode") and ",".join(_values(flags.get("authorization-mode")))
        disabled = _admission_names("disable-admission-plugins", flags)
        enabled = _admission_names("enable-admission-plugins", flags)
        plugins = [p for p in (*DEFAULT_ON_ADMISSION, *enabled) if p not in disabled]
        return cls(
            client_ca_file=one("client-ca-file"),
            anonymous_auth=_bool("anonymous-auth", flags.get("anonymous-auth"), True),
            enable_bootstrap_token_auth=_bool("enable-bootstrap-token-auth",
                                              flags.get("enable-bootstrap-token-auth"), False),
            service_account_issuers=_values(flags.get("service-account-issuer")),
            service_account_key_files=_values(flags.get("service-account-key-file")),
            service_account_signing_key_file=one("service-account-signing-key-file"),
            api_audiences=_values(flags.get("api-audiences")),
            authorization_modes=tuple(parse_modes(modes)) if modes else ("AlwaysAllow",),
            admission_plugins=tuple(p for p in SUPPORTED_ADMISSION if p in plugins),
            unimplemented_admission=tuple(p for p in enabled if p not in SUPPORTED_ADMISSION),
            encryption_provider_config=one("encryption-provider-config"))


@dataclass
class SecurityStack:
    settings: SecuritySettings
    authentication: AuthenticationChain
    token_authenticators: list[TokenAuthenticator]
    authorizer: AuthorizerChain
    rbac: RBACAuthorizer
    encryption: EncryptionTransformers
    objects: ClusterObjects
    issuer: TokenIssuer | None = None
    admission: list[AdmissionPlugin] = field(default_factory=list)
    audiences: tuple[str, ...] = field(default=())
    _node_rules: tuple[Rule, ...] = field(default_factory=lambda: rules_from_api(node_rules()),
                                          repr=False)

    # ---- per request ---------------------------------------------------------------------
    def authenticate(self, credentials: Credentials) -> AuthResult:
        return self.authentication.authenticate(credentials)

    def authorize(self, attrs: Attributes) -> Verdict:
        return self.authorizer(attrs)

    def impersonate(self, user: UserInfo, headers: Iterable[tuple[str, str]]) -> UserInfo:
        """The user to run as given Impersonate-* headers; ImpersonationError carries the code."""
        return impersonation.impersonate(user, headers, self.authorizer)

    def admit(self, request: AdmissionRequest) -> Mapping[str, Any] | None:
        """Run the enabled plugins in order; returns the object to store (possibly mutated).

        AdmissionDenied carries the HTTP code (403, or 404 for a missing namespace).
        """
        obj = request.obj
        for plugin in self.admission:
            changed = plugin.admit(dataclasses.replace(request, obj=obj))
            if changed is not None:
                obj = changed
        return obj

    def check_rbac_write(self, user: UserInfo, obj: Mapping[str, Any],
                         old: Mapping[str, Any] | None = None) -> None:
        """Escalation check for a Role/ClusterRole/(Cluster)RoleBinding create or update."""
        if obj.get("kind") in ("Role", "ClusterRole"):
            escalation.check_role_write(self.rbac, self.authorizer, user, obj, old)
        elif obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
            escalation.check_binding_write(self.rbac, self.authorizer, user, obj, old)

    # ---- review APIs and TokenRequest ------------------------------------------------------
    def self_subject_access_review(self, body: Mapping[str, Any],
                                   user: UserInfo) -> dict[str, Any]:
        return reviews.self_subject_access_review(body, user, self.authorizer)

    def subject_access_review(self, body: Mapping[str, Any],
                              namespace: str | None = None) -> dict[str, Any]:
        return reviews.subject_access_review(body, self.authorizer, namespace)

    def self_subject_rules_review(self, body: Mapping[str, Any],
                                  user: UserInfo) -> dict[str, Any]:
        # a kubelet also holds what the Node authorizer grants outside the object graph
        extra = self._node_rules if node_name_of(user) and "Node" in \
            self.settings.authorization_modes else ()
        return reviews.self_subject_rules_review(body, user, self.rbac.rules_for, extra)

    def token_review(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return reviews.token_review(body, self.token_authenticators, self.audiences)

    def self_subject_review(self, body: Mapping[str, Any], user: UserInfo) -> dict[str, Any]:
        return reviews.self_subject_review(body, user)

    def token_request(self, body: Mapping[str, Any], namespace: str,
                      service_account: Mapping[str, Any]) -> dict[str, Any]:
        if self.issuer is None:
            raise UserInputError("--service-account-signing-key-file", "is not set, so "
                                 "TokenRequest cannot issue tokens",
                                 "Start the server with the flag set (kubeadm sets sa.key)")
        return tokenrequest.create_token(body, namespace, service_account, self.issuer,
                                         object_getters(self.objects), self.audiences)


def object_getters(objects: ClusterObjects) -> ObjectGetters:
    return ObjectGetters(lambda ns, n: objects.get("serviceaccounts", ns, n),
                         lambda ns, n: objects.get("pods", ns, n),
                         lambda ns, n: objects.get("secrets", ns, n),
                         lambda ns, n: objects.get("nodes", "", n))


def build_stack(settings: SecuritySettings, objects: ClusterObjects) -> SecurityStack:
    """Load every file the settings name and wire the pieces; raises before serving anything."""
    for name in settings.unimplemented_admission:
        log.warning("admission plugin %s is not implemented by kubeadmpy-apiserver; ignored", name)
    authenticators: list[Authenticator] = []
    if settings.client_ca_file:
        authenticators.append(X509Authenticator(load_ca_bundle(Path(settings.client_ca_file))))
    tokens: list[TokenAuthenticator] = []
    if settings.enable_bootstrap_token_auth:
        tokens.append(BootstrapTokenAuthenticator(
            lambda ns, name: objects.get("secrets", ns, name)))
    audiences = settings.api_audiences or settings.service_account_issuers[:1]
    issuer = None
    if settings.service_account_issuers:
        keys: list[jws.PublicKey] = []
        for path in settings.service_account_key_files:
            keys.extend(jws.load_verification_keys(Path(path)))
        if settings.service_account_signing_key_file:
            signing = jws.load_signing_key(Path(settings.service_account_signing_key_file))
            issuer = TokenIssuer(signing, settings.service_account_issuers[0])
            keys.append(signing.public_key())
        if not keys:
            raise UserInputError("--service-account-key-file", "is required with "
                                 "--service-account-issuer", "Point it at sa.pub")
        tokens.append(ServiceAccountAuthenticator(settings.service_account_issuers, keys,
                                                  object_getters(objects), audiences))
    if tokens:
        # TokenReview asks the authenticators directly; requests go through the cache
        authenticators.append(BearerTokenAuthenticator(
            [CachedTokenAuthenticator(t) for t in tokens]))
    rbac = RBACAuthorizer()
    authorizers: list[Authorizer] = []
    for mode in settings.authorization_modes:
        if mode == "Node":
            authorizers.append(NodeAuthorizer(objects))
        elif mode == "RBAC":
            authorizers.append(rbac)
        elif mode == "AlwaysAllow":
            authorizers.append(AlwaysAllow())
        else:
            authorizers.append(AlwaysDeny())
    config = None
    if settings.encryption_provider_config:
        config = encryption_config.load(Path(settings.encryption_provider_config))
    return SecurityStack(settings, AuthenticationChain(authenticators, settings.anonymous_auth),
                         tokens, AuthorizerChain(authorizers), rbac,
                         EncryptionTransformers(config), objects, issuer,
                         _admission_plugins(settings.admission_plugins, objects),
                         tuple(audiences))


def _list(objects: ClusterObjects, resource: str) -> Iterable[Mapping[str, Any]]:
    lister = getattr(objects, "list", None)
    return lister(resource) if lister is not None else ()


def _in_namespace(objects: ClusterObjects, resource: str, namespace: str
                  ) -> list[Mapping[str, Any]]:
    return [o for o in _list(objects, resource)
            if (o.get("metadata") or {}).get("namespace") == namespace]


def _admission_plugins(names: Sequence[str], objects: ClusterObjects) -> list[AdmissionPlugin]:
    plugins: list[AdmissionPlugin] = []
    for name in names:
        if name == "NamespaceLifecycle":
            plugins.append(NamespaceLifecycle(lambda n: objects.get("namespaces", "", n)))
        elif name == "ServiceAccount":
            plugins.append(ServiceAccountAdmission(
                lambda ns, n: objects.get("serviceaccounts", ns, n)))
        elif name == "NodeRestriction":
            plugins.append(NodeRestriction(lambda ns, n: objects.get("pods", ns, n)))
        elif name == "Priority":
            plugins.append(PriorityAdmission(lambda n: objects.get("priorityclasses", "", n),
                                             functools.partial(_list, objects,
                                                               "priorityclasses")))
        elif name == "DefaultTolerationSeconds":
            plugins.append(DefaultTolerationSeconds())
        elif name == "LimitRanger":
            plugins.append(LimitRanger(functools.partial(_in_namespace, objects, "limitranges")))
        elif name == "ResourceQuota":  # the server awaits its `evaluate` after the chain
            plugins.append(ResourceQuotaAdmission(
                functools.partial(_in_namespace, objects, "resourcequotas")))
    return plugins


def credentials_from_aiohttp(request: Any) -> Credentials:
    """The client certificate (DER) and Authorization header of an aiohttp request."""
    transport = getattr(request, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return Credentials(client_cert_der=der or None,
                       authorization=request.headers.get("Authorization"))
