"""Authentication: client certificates, bootstrap tokens, service-account JWTs, the chain.

Every refused credential must come back as an unauthenticated result with a reason for the
log, never as an exception.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from security_testkit import ObjectTable, pod, secret

from kubeadmpy.security import jws
from kubeadmpy.security.authn import AuthenticationChain, BearerTokenAuthenticator, Credentials
from kubeadmpy.security.bootstrap_tokens import BootstrapTokenAuthenticator
from kubeadmpy.security.serviceaccount import (
    BoundObject,
    ObjectGetters,
    ServiceAccountAuthenticator,
    TokenIssuer,
)
from kubeadmpy.security.tokenrequest import TokenRequestInvalid, create_token
from kubeadmpy.security.x509_auth import X509Authenticator

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
ISSUER = "https://kubernetes.default.svc.cluster.local"


def clock() -> dt.datetime:
    return NOW


# ---- x509 -------------------------------------------------------------------------------------

def make_ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def client_cert(ca: tuple[x509.Certificate, Any], cn: str, *orgs: str,
                usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
                not_after: dt.datetime | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    names.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    cert = (x509.CertificateBuilder().subject_name(x509.Name(names))
            .issuer_name(ca[0].subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(not_after or NOW + dt.timedelta(days=365))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca[1], hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def cluster_ca() -> tuple[x509.Certificate, Any]:
    return make_ca("kubernetes")


def test_a_certificate_of_an_expired_ca_is_refused(cluster_ca: Any) -> None:
    der = client_cert(cluster_ca, "alice")
    later = NOW + dt.timedelta(days=3651)
    authenticator = X509Authenticator([cluster_ca[0]], lambda: later)
    result = authenticator.authenticate(Credentials(client_cert_der=der))
    assert result.user is None and "expired" in result.reason  # the leaf expired first
    long_leaf = client_cert(cluster_ca, "alice", not_after=NOW + dt.timedelta(days=4000))
    result = authenticator.authenticate(Credentials(client_cert_der=long_leaf))
    assert result.user is None and "is not valid now" in result.reason


def test_a_client_certificate_names_user_and_groups(cluster_ca: Any) -> None:
    chain = AuthenticationChain([X509Authenticator([cluster_ca[0]], clock)])
    der = client_cert(cluster_ca, "alice", "devs", "system:masters")
    result = chain.authenticate(Credentials(client_cert_der=der))
    assert result.user is not None
    assert result.user.name == "alice"
    assert result.user.groups == ("devs", "system:masters", "system:authenticated")


X509_REFUSALS = [
    ("a certificate from another CA", lambda ca: client_cert(make_ca("kubernetes"), "mallory"),
     "signed by unknown authority"),
    ("an expired certificate", lambda ca: client_cert(ca, "old", not_after=NOW - dt.timedelta(
        hours=1)), "expired"),
    ("a server-only certificate", lambda ca: client_cert(ca, "srv",
                                                         usage=ExtendedKeyUsageOID.SERVER_AUTH),
     "incompatible key usage"),
    ("bytes that are not a certificate", lambda ca: b"\x30\x03\x02\x01\x00", "malformed"),
]


@pytest.mark.parametrize(("make", "reason"), [c[1:] for c in X509_REFUSALS],
                         ids=[c[0] for c in X509_REFUSALS])
def test_refused_certificates_are_unauthenticated_with_a_reason(cluster_ca: Any, make: Any,
                                                               reason: str) -> None:
    chain = AuthenticationChain([X509Authenticator([cluster_ca[0]], clock)])
    result = chain.authenticate(Credentials(client_cert_der=make(cluster_ca)))
    assert result.user is None
    assert reason in result.reason


# ---- bootstrap tokens -------------------------------------------------------------------------

def token_secret(token_id: str = "abcdef", token_secret_: str = "0123456789abcdef",
                 **overrides: str) -> dict[str, Any]:
    values = {"token-id": token_id, "token-secret": token_secret_,
              "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
              "expiration": "2026-06-02T12:00:00Z",
              "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    values.update(overrides)
    values = {k: v for k, v in values.items() if v != "<absent>"}
    return secret("kube-system", f"bootstrap-token-{token_id}", values,
                  "bootstrap.kubernetes.io/token")


def bootstrap_chain(*secrets: dict[str, Any]) -> AuthenticationChain:
    table = ObjectTable()
    for s in secrets:
        table.add("secrets", s)
    authenticator = BootstrapTokenAuthenticator(table.getter("secrets"), clock)
    return AuthenticationChain([BearerTokenAuthenticator([authenticator])])


def bearer(token: str) -> Credentials:
    return Credentials(authorization=f"Bearer {token}")


def test_a_bootstrap_token_authenticates_as_its_bootstrap_user() -> None:
    result = bootstrap_chain(token_secret()).authenticate(bearer("abcdef.0123456789abcdef"))
    assert result.user is not None
    assert result.user.name == "system:bootstrap:abcdef"
    assert result.user.groups == ("system:bootstrappers",
                                  "system:bootstrappers:kubeadm:default-node-token",
                                  "system:authenticated")


BOOTSTRAP_REFUSALS = [
    ("an expired token", token_secret(expiration="2026-06-01T11:59:59Z"), "expired"),
    ("an unparseable expiration", token_secret(expiration="tomorrow"), "unparseable"),
    ("a token not usable for authentication",
     token_secret(**{"usage-bootstrap-authentication": "<absent>"}), "not usable"),
    ("a wrong secret", token_secret(token_secret_="ffffffffffffffff"), "does not match"),
    ("an extra group outside system:bootstrappers:",
     token_secret(**{"auth-extra-groups": "system:masters"}), "auth-extra-groups"),
    ("a secret of another type", {**token_secret(), "type": "Opaque"}, "has type"),
    ("a deleted token", secret("kube-system", "other", {}), "not found"),
]


@pytest.mark.parametrize(("stored", "reason"), [c[1:] for c in BOOTSTRAP_REFUSALS],
                         ids=[c[0] for c in BOOTSTRAP_REFUSALS])
def test_refused_bootstrap_tokens(stored: dict[str, Any], reason: str) -> None:
    result = bootstrap_chain(stored).authenticate(bearer("abcdef.0123456789abcdef"))
    assert result.user is None
    assert reason in result.reason


@pytest.mark.parametrize("token", ["abcdef.0123456789abcde", "ABCDEF.0123456789abcdef",
                                   "abcdef0123456789abcdef", "abcdef.0123456789abcdef.x", ""],
                         ids=["short secret", "upper case", "no dot", "three parts", "empty"])
def test_malformed_bearer_tokens_are_refused_not_treated_as_anonymous(token: str) -> None:
    result = bootstrap_chain(token_secret()).authenticate(bearer(token))
    assert result.user is None
    assert result.reason.startswith("invalid bearer token")


# ---- service-account tokens -------------------------------------------------------------------

@pytest.fixture(scope="module", params=["RS256", "ES256"])
def signing_key(request: pytest.FixtureRequest) -> jws.PrivateKey:
    if request.param == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def objects() -> ObjectTable:
    table = ObjectTable()
    table.add("serviceaccounts", {"metadata": {"namespace": "ns", "name": "builder",
                                               "uid": "sa-uid"}})
    table.add("pods", pod("ns", "web-1", "node-a", service_account="builder"))
    table.add("nodes", {"metadata": {"name": "node-a", "uid": "node-uid"}})
    return table


def sa_authenticator(key: jws.PrivateKey, objects: ObjectTable,
                     audiences: tuple[str, ...] = ()) -> ServiceAccountAuthenticator:
    getters = ObjectGetters(objects.getter("serviceaccounts"), objects.getter("pods"),
                            objects.getter("secrets"), objects.getter("nodes"))
    return ServiceAccountAuthenticator([ISSUER], [key.public_key()], getters, audiences, clock)


def issue(key: jws.PrivateKey, *, bound: BoundObject | None = None, seconds: int = 3600,
          audiences: tuple[str, ...] = (ISSUER,), sa_uid: str = "sa-uid",
          when: dt.datetime = NOW) -> str:
    issuer = TokenIssuer(key, ISSUER, lambda: when)
    return issuer.issue("ns", "builder", sa_uid, audiences, seconds, bound)[0]


def test_a_bound_token_authenticates_as_its_service_account(signing_key: jws.PrivateKey,
                                                            objects: ObjectTable) -> None:
    token = issue(signing_key, bound=BoundObject("Pod", "web-1", "uid-web-1"))
    result = sa_authenticator(signing_key, objects).authenticate_token(token, ())
    assert result.user is not None
    assert result.user.name == "system:serviceaccount:ns:builder"
    assert result.user.uid == "sa-uid"
    assert result.user.groups == ("system:serviceaccounts", "system:serviceaccounts:ns")
    assert result.user.extra["authentication.kubernetes.io/pod-name"] == ("web-1",)
    assert result.user.extra["authentication.kubernetes.io/pod-uid"] == ("uid-web-1",)
    assert result.audiences == (ISSUER,)


def test_token_claims_have_upstreams_shape(signing_key: jws.PrivateKey) -> None:
    token = issue(signing_key, bound=BoundObject("Pod", "web-1", "uid-web-1"))
    parsed = jws.parse(token)
    assert parsed.header == {"alg": jws.algorithm_of(signing_key.public_key()),
                             "kid": jws.key_id(signing_key.public_key())}
    assert parsed.claims["sub"] == "system:serviceaccount:ns:builder"
    assert parsed.claims["kubernetes.io"] == {
        "namespace": "ns", "serviceaccount": {"name": "builder", "uid": "sa-uid"},
        "pod": {"name": "web-1", "uid": "uid-web-1"}}
    assert parsed.claims["exp"] - parsed.claims["iat"] == 3600
    assert parsed.claims["nbf"] == parsed.claims["iat"]


def refused(key: jws.PrivateKey, objects: ObjectTable, token: str,
            audiences: tuple[str, ...] = ()) -> str:
    result = sa_authenticator(key, objects).authenticate_token(token, audiences)
    assert result.user is None
    return result.reason


def test_a_token_signed_by_another_key_is_refused(signing_key: jws.PrivateKey,
                                                  objects: ObjectTable) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for key in (other, other_rsa):
        assert "signature does not verify" in refused(signing_key, objects, issue(key))


def test_a_token_for_a_deleted_pod_is_refused(signing_key: jws.PrivateKey,
                                              objects: ObjectTable) -> None:
    token = issue(signing_key, bound=BoundObject("Pod", "web-1", "uid-web-1"))
    objects.remove("pods", "ns", "web-1")
    assert "pod ns/web-1 has been deleted" in refused(signing_key, objects, token)


def test_a_token_for_a_recreated_pod_is_refused(signing_key: jws.PrivateKey,
                                                objects: ObjectTable) -> None:
    token = issue(signing_key, bound=BoundObject("Pod", "web-1", "uid-web-1"))
    objects.add("pods", pod("ns", "web-1", "node-a", service_account="builder", uid="new"))
    assert "does not match" in refused(signing_key, objects, token)


def test_a_token_of_a_recreated_service_account_is_refused(signing_key: jws.PrivateKey,
                                                           objects: ObjectTable) -> None:
    assert "does not match" in refused(signing_key, objects, issue(signing_key, sa_uid="old"))
    objects.remove("serviceaccounts", "ns", "builder")
    assert "has been deleted" in refused(signing_key, objects, issue(signing_key))


def test_time_and_audience_claims_are_enforced(signing_key: jws.PrivateKey,
                                               objects: ObjectTable) -> None:
    expired = issue(signing_key, seconds=600, when=NOW - dt.timedelta(hours=1))
    assert "expired" in refused(signing_key, objects, expired)
    future = issue(signing_key, when=NOW + dt.timedelta(hours=1))
    assert "not valid yet" in refused(signing_key, objects, future)
    vault = issue(signing_key, audiences=("vault",))
    assert "audiences" in refused(signing_key, objects, vault)
    result = sa_authenticator(signing_key, objects).authenticate_token(vault, ("vault",))
    assert result.user is not None and result.audiences == ("vault",)


def test_a_token_from_another_issuer_is_refused(signing_key: jws.PrivateKey,
                                                objects: ObjectTable) -> None:
    token = TokenIssuer(signing_key, "https://elsewhere", clock).issue(
        "ns", "builder", "sa-uid", [ISSUER], 3600)[0]
    assert "issuer 'https://elsewhere'" in refused(signing_key, objects, token)


def test_an_unsigned_token_is_refused(signing_key: jws.PrivateKey, objects: ObjectTable) -> None:
    header, payload, _ = issue(signing_key).split(".")
    none_header = jws.b64url_encode(b'{"alg":"none"}')
    assert "unsupported signing algorithm" in refused(signing_key, objects,
                                                      f"{none_header}.{payload}.")
    assert "signature" in refused(signing_key, objects, f"{header}.{payload}.AAAA")


def test_token_request_binds_to_a_pod_of_the_same_service_account(
        signing_key: jws.PrivateKey, objects: ObjectTable) -> None:
    getters = ObjectGetters(objects.getter("serviceaccounts"), objects.getter("pods"),
                            objects.getter("secrets"), objects.getter("nodes"))
    issuer = TokenIssuer(signing_key, ISSUER, clock)
    sa = objects.get("serviceaccounts", "ns", "builder")
    assert sa is not None
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-1"},
                        "expirationSeconds": 1200}}
    response = create_token(request, "ns", sa, issuer, getters, [ISSUER])
    assert response["status"]["expirationTimestamp"] == "2026-06-01T12:20:00Z"
    claims = jws.parse(response["status"]["token"]).claims
    assert claims["kubernetes.io"]["node"] == {"name": "node-a", "uid": "node-uid"}
    result = sa_authenticator(signing_key, objects).authenticate_token(
        response["status"]["token"], ())
    assert result.user is not None
    assert result.user.extra["authentication.kubernetes.io/node-name"] == ("node-a",)
    objects.add("pods", pod("ns", "other", "node-a", service_account="default"))
    for spec, field in [({"expirationSeconds": 60}, "spec.expirationSeconds"),
                        ({"boundObjectRef": {"kind": "Deployment", "name": "x"}},
                         "spec.boundObjectRef.kind"),
                        ({"boundObjectRef": {"kind": "Pod", "name": "other"}},
                         "spec.boundObjectRef.name"),
                        ({"boundObjectRef": {"kind": "Pod", "name": "web-1", "uid": "zzz"}},
                         "spec.boundObjectRef.uid")]:
        with pytest.raises(TokenRequestInvalid) as caught:
            create_token({"spec": spec}, "ns", sa, issuer, getters, [ISSUER])
        assert caught.value.field == field


# ---- the chain --------------------------------------------------------------------------------

def test_no_credentials_is_anonymous_only_when_enabled() -> None:
    enabled = AuthenticationChain([], anonymous_enabled=True).authenticate(Credentials())
    assert enabled.user is not None and enabled.user.name == "system:anonymous"
    assert enabled.user.groups == ("system:unauthenticated",)
    disabled = AuthenticationChain([], anonymous_enabled=False).authenticate(Credentials())
    assert disabled.user is None and "anonymous access is disabled" in disabled.reason


def test_a_crashing_authenticator_is_a_refusal_not_an_error() -> None:
    class Broken:
        def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> Any:
            raise RuntimeError("boom")

    chain = AuthenticationChain([BearerTokenAuthenticator([Broken()])])
    result = chain.authenticate(bearer("x.y.z"))
    assert result.user is None and "boom" in result.reason


def test_jwks_lists_the_verification_keys(signing_key: jws.PrivateKey) -> None:
    document = jws.jwks([signing_key.public_key()])
    (entry,) = document["keys"]
    assert entry["kid"] == jws.key_id(signing_key.public_key())
    assert entry["use"] == "sig" and entry["kty"] in ("RSA", "EC")
    discovery = jws.openid_configuration(ISSUER, "https://10.0.0.1:6443/openid/v1/jwks",
                                         [signing_key.public_key()])
    assert discovery["issuer"] == ISSUER
    assert discovery["id_token_signing_alg_values_supported"] == [entry["alg"]]


def test_token_request_with_nulls_for_unset_fields_gets_the_defaults(
        signing_key: jws.PrivateKey, objects: ObjectTable) -> None:
    """kubectl 1.27 `create token` sends every unset field as null."""
    getters = ObjectGetters(objects.getter("serviceaccounts"), objects.getter("pods"),
                            objects.getter("secrets"), objects.getter("nodes"))
    issuer = TokenIssuer(signing_key, ISSUER, clock)
    sa = objects.get("serviceaccounts", "ns", "builder")
    assert sa is not None
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
               "metadata": {"creationTimestamp": None},
               "spec": {"audiences": None, "expirationSeconds": None,
                        "boundObjectRef": None},
               "status": {"token": "", "expirationTimestamp": None}}
    response = create_token(request, "ns", sa, issuer, getters, [ISSUER])
    assert response["spec"]["audiences"] == [ISSUER]
    assert response["spec"]["expirationSeconds"] == 3600
    assert response["status"]["expirationTimestamp"] == "2026-06-01T13:00:00Z"
    bound = {"kind": "Pod", "apiVersion": None, "name": "web-1", "uid": None}
    response = create_token({"spec": {"boundObjectRef": bound, "audiences": None}}, "ns", sa,
                            issuer, getters, [ISSUER])
    assert jws.parse(response["status"]["token"]).claims["kubernetes.io"]["pod"]["name"] == "web-1"
