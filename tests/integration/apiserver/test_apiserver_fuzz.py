"""Property tests against the real kubeadmpy-apiserver on real etcd: malformed credentials,
headers, bodies, query strings and paths are answered with a 4xx Status, never a 5xx, and the
server keeps serving well-formed requests afterwards.

The cluster is this module's own (its objects and junk must not disturb other tests). Requests go
over plain http.client keep-alive connections so a few thousand of them fit in well under a
minute; a connection the server closed is reopened once, a fresh one that fails is a failure.
Token fuzzing runs without a client certificate (so the token is what authenticates); everything
else uses the admin certificate so the junk reaches the handlers instead of stopping at RBAC.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import ssl
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from apiserver_harness import Certs, Cluster, start_cluster, stop_cluster
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kubeadmpy.apiserver.resources import build_registry
from kubeadmpy.machinery.registry import ResourceSpec
from kubeadmpy.security import jws

# 250 examples a property keep the file well under a minute; set KUBEADMPY_FUZZ_EXAMPLES higher
# for a long hunt.
FUZZ = settings(max_examples=int(os.environ.get("KUBEADMPY_FUZZ_EXAMPLES", "250")),
                deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NAMESPACE = "fuzz"
SEED = "seed"
SPECS: list[ResourceSpec] = sorted(build_registry().all(), key=lambda s: (s.group, s.plural))


# -- the client ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        """Below 500, or the one 5xx kube-apiserver gives a well-formed request too: 504 for a
        resourceVersion newer than the store's (the client is told to retry)."""
        return self.status < 500 or (
            self.status == 504 and b"Too large resource version" in self.body)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:300]!r})"


@dataclass
class Client:
    """One keep-alive HTTPS connection; counts what it sent so the report can say how much."""

    port: int
    context: ssl.SSLContext
    sent: int = 0
    connection: http.client.HTTPSConnection | None = field(default=None, repr=False)

    def send(self, method: str, path: str, headers: dict[str, bytes] | None = None,
             body: bytes | None = None) -> Reply:
        for attempt in (1, 2):
            fresh = self.connection is None
            if self.connection is None:
                self.connection = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=self.context, timeout=20)
            try:
                return self._exchange(self.connection, method, path, headers or {}, body)
            except (ConnectionError, http.client.HTTPException, ssl.SSLError):
                self.close()
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _exchange(self, connection: http.client.HTTPSConnection, method: str, path: str,
                  headers: dict[str, bytes], body: bytes | None) -> Reply:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body or b"")))
        connection.endheaders(body or None)
        self.sent += 1
        response = connection.getresponse()
        if "watch" in path or response.getheader("Transfer-Encoding") == "chunked":
            self.close()  # a stream may never end: the status line is all we judge
            return Reply(response.status, b"")
        return Reply(response.status, response.read())

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


@dataclass
class Fuzzed:
    cluster: Cluster
    admin: Client
    anonymous: Client
    signing_key: jws.PrivateKey

    def total(self) -> int:
        return self.admin.sent + self.anonymous.sent


def prefix(spec: ResourceSpec) -> str:
    return f"/apis/{spec.group}/{spec.version}" if spec.group else f"/api/{spec.version}"


def collection(spec: ResourceSpec, namespace: str = NAMESPACE) -> str:
    where = f"/namespaces/{namespace}" if spec.namespaced else ""
    return f"{prefix(spec)}{where}/{spec.plural}"


def api_version(spec: ResourceSpec) -> str:
    return f"{spec.group}/{spec.version}" if spec.group else spec.version


# -- valid seeds: what the mutations start from ----------------------------------------------

CONTAINERS = [{"name": "c", "image": "busybox", "command": ["sleep", "1"]}]
TEMPLATE = {"metadata": {"labels": {"app": "fuzz"}},
            "spec": {"containers": CONTAINERS, "restartPolicy": "Never"}}
LONG_TEMPLATE = {"metadata": {"labels": {"app": "fuzz"}}, "spec": {"containers": CONTAINERS}}
SELECTOR = {"matchLabels": {"app": "fuzz"}}
RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
SUBJECTS = [{"kind": "User", "name": "fuzzer", "apiGroup": "rbac.authorization.k8s.io"}]
SEED_BODIES: dict[str, dict[str, Any]] = {
    "pods": {"spec": {"containers": CONTAINERS}},
    "services": {"spec": {"selector": {"app": "fuzz"}, "ports": [{"port": 80}]}},
    "configmaps": {"data": {"k": "v"}},
    "secrets": {"type": "Opaque", "data": {"k": base64.b64encode(b"v").decode()}},
    "events": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": NAMESPACE},
               "reason": "Fuzz", "message": "m", "type": "Normal"},
    "endpoints": {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]},
    "persistentvolumes": {"spec": {"capacity": {"storage": "1Gi"},
                                   "accessModes": ["ReadWriteOnce"],
                                   "hostPath": {"path": "/tmp/fuzz"}}},
    "persistentvolumeclaims": {"spec": {"accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": "1Gi"}}}},
    "deployments": {"spec": {"replicas": 1, "selector": SELECTOR, "template": LONG_TEMPLATE}},
    "replicasets": {"spec": {"replicas": 1, "selector": SELECTOR, "template": LONG_TEMPLATE}},
    "daemonsets": {"spec": {"selector": SELECTOR, "template": LONG_TEMPLATE}},
    "statefulsets": {"spec": {"serviceName": "s", "selector": SELECTOR,
                              "template": LONG_TEMPLATE}},
    "controllerrevisions": {"revision": 1, "data": {}},
    "jobs": {"spec": {"template": TEMPLATE}},
    "cronjobs": {"spec": {"schedule": "*/5 * * * *",
                          "jobTemplate": {"spec": {"template": TEMPLATE}}}},
    "leases": {"spec": {"holderIdentity": "fuzz", "leaseDurationSeconds": 15}},
    "endpointslices": {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
                       "ports": [{"port": 80, "protocol": "TCP"}]},
    "storageclasses": {"provisioner": "example.com/fuzz"},
    "csidrivers": {"spec": {"attachRequired": False}},
    "csinodes": {"spec": {"drivers": []}},
    "volumeattachments": {"spec": {"attacher": "example.com/fuzz", "nodeName": "n",
                                   "source": {"persistentVolumeName": "pv"}}},
    "certificatesigningrequests": {"spec": {"request": "", "signerName": "example.com/fuzz",
                                            "usages": ["client auth"]}},
    "roles": {"rules": RULES}, "clusterroles": {"rules": RULES},
    "rolebindings": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                 "name": SEED}, "subjects": SUBJECTS},
    "clusterrolebindings": {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                        "kind": "ClusterRole", "name": SEED},
                            "subjects": SUBJECTS},
    "priorityclasses": {"value": 1000},
}


def seed(spec: ResourceSpec, name: str = SEED) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"app": "fuzz"}}
    if spec.namespaced:
        metadata["namespace"] = NAMESPACE
    body = json.loads(json.dumps(SEED_BODIES.get(spec.plural, {})))
    return {"apiVersion": api_version(spec), "kind": spec.kind, "metadata": metadata, **body}


# -- the cluster -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Fuzzed]:
    """A private cluster with the namespace `fuzz` and one `seed` object of each resource that
    the updates and patches aim at."""
    workdir = tmp_path_factory.mktemp("fuzz-cluster")
    cluster = start_cluster(workdir, certs)
    admin = Client(cluster.apiserver.port, cluster.ssl_context())
    anonymous = Client(cluster.apiserver.port, cluster.ssl_context(anonymous=True))
    try:
        namespace = json.dumps({"metadata": {"name": NAMESPACE}}).encode()
        assert admin.send("POST", "/api/v1/namespaces", JSON, namespace).status == 201
        system = json.dumps({"metadata": {"name": "kube-system"}}).encode()
        assert admin.send("POST", "/api/v1/namespaces", JSON, system).status in (201, 409)
        for spec in SPECS:
            admin.send("POST", collection(spec), JSON, json.dumps(seed(spec)).encode())
        yield Fuzzed(cluster, admin, anonymous,
                     jws.load_signing_key(Path(certs.path("sa.key"))))
    finally:
        admin.close()
        anonymous.close()
        stop_cluster(cluster)
        shutil.rmtree(workdir / "etcd-data", ignore_errors=True)


# -- strategies ------------------------------------------------------------------------------

JSON = {"Content-Type": b"application/json"}
printable = st.text(string.printable.strip() + " ", max_size=60)


def on_the_wire(value: bytes) -> bytes:
    """What a header may carry at all: no CR, LF or NUL (the rest, UTF-8 or not, goes)."""
    return value.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"").strip()


header_bytes = st.binary(max_size=200).map(on_the_wire)
huge_numbers = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, 1e308, -1, 0, 2**31])
json_scalars = (st.none() | st.booleans() | st.integers() | huge_numbers
                | st.floats(allow_nan=False) | st.text(max_size=20)
                | st.sampled_from(["", "x" * 70_000, "2024-13-45T99:99:99Z", "-1", "1e9",
                                   "${x}", "\u202e\u0000\U0001f600"]))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=16)
deep = (st.integers(1, 3000) | st.sampled_from([101, 255, 1100])).flatmap(
    lambda n: st.sampled_from(['[' * n + ']' * n, '{"a":' * n + "1" + "}" * n]))
b64url = st.binary(max_size=80).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())


def _b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


jwt_header = st.fixed_dictionaries({"alg": st.sampled_from(["RS256", "none", "HS256", "ES256",
                                                            "", "RS512"]) | json_values},
                                   optional={"kid": json_values, "typ": json_values})
jwt_claims = st.fixed_dictionaries({}, optional={
    "iss": st.sampled_from(["https://kubernetes.default.svc.cluster.local"]) | json_values,
    "sub": st.sampled_from(["system:serviceaccount:fuzz:default"]) | json_values,
    "aud": json_values, "exp": huge_numbers | json_values, "nbf": huge_numbers | json_values,
    "iat": huge_numbers | json_values,
    "kubernetes.io": json_values | st.fixed_dictionaries({
        "namespace": json_values, "serviceaccount": json_values, "pod": json_values})})
jwt_shaped = st.builds(lambda h, c, s: f"{_b64json(h)}.{_b64json(c)}.{s}",
                       jwt_header, jwt_claims, b64url | st.text(max_size=20))
token_alphabet = string.ascii_lowercase + string.digits
bootstrap_shaped = st.builds(lambda a, b: f"{a}.{b}", st.text(token_alphabet, max_size=8),
                             st.text(token_alphabet + ".", max_size=20))
bearer = st.one_of(jwt_shaped, bootstrap_shaped, b64url, printable,
                   st.sampled_from(["abcdef.0123456789abcdef", "..", ".", "a.b.c", "a..b"]))
authorization = st.one_of(
    bearer.map(lambda t: f"Bearer {t}".encode()),
    bearer.map(lambda t: f"bearer  {t} ".encode()),
    st.builds(lambda u, p: b"Basic " + base64.b64encode(f"{u}:{p}".encode()),
              printable, printable),
    printable.map(lambda t: b"Basic " + t.encode()),
    header_bytes).map(on_the_wire)

CONTENT_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
                 "application/apply-patch+yaml", "application/merge-patch+json",
                 "application/strategic-merge-patch+json", "application/json-patch+json",
                 "application/json; charset=utf-8", "text/plain", "", "*/*", ";;;",
                 "application/json;as=Table", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded", "application/yaml; charset=latin-1"]
ACCEPTS = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
           "application/json;as=Table;g=meta.k8s.io;v=v1",
           "application/json;as=Table;g=meta.k8s.io;v=v1beta1",
           "application/json;as=Table;g=meta.k8s.io;v=v9",
           "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
           "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
           "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json",
           "text/html", "*/*", "", ";", "as=Table", "application/json;as", "a;b=c;d"]
content_type = st.sampled_from(CONTENT_TYPES).map(str.encode) | header_bytes
accept = st.sampled_from(ACCEPTS).map(str.encode) | header_bytes
impersonation = st.dictionaries(
    st.sampled_from(["Impersonate-User", "Impersonate-Group", "Impersonate-Uid",
                     "Impersonate-Extra-scopes", "Impersonate-Extra-", "Impersonate-Extra-%zz",
                     "Impersonate-Extra-a%2Fb", "Impersonate-", "impersonate-user"]),
    header_bytes | st.sampled_from([b"system:admin", b"system:masters", b"", b"x" * 9000]),
    max_size=3)

specs = st.sampled_from(SPECS)
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
MUTATION_PATHS = [
    ("metadata", "name"), ("metadata", "generateName"), ("metadata", "namespace"),
    ("metadata", "labels"), ("metadata", "annotations"), ("metadata", "resourceVersion"),
    ("metadata", "managedFields"), ("metadata", "deletionTimestamp"),
    ("metadata", "creationTimestamp"), ("metadata", "ownerReferences"),
    ("metadata", "finalizers"), ("metadata", "uid"), ("metadata", "generation"),
    ("metadata", "deletionGracePeriodSeconds"), ("metadata",), ("spec",), ("status",),
    ("kind",), ("apiVersion",), ("data",), ("stringData",), ("rules",), ("subjects",),
    ("roleRef",), ("spec", "containers"), ("spec", "template"), ("spec", "selector"),
    ("spec", "replicas"), ("spec", "ports"), ("spec", "template", "spec", "containers"),
    ("spec", "selector", "matchLabels"), ("spec", "jobTemplate"), ("value",),
    ("metadata", "labels", "app"), ("spec", "template", "metadata", "labels")]
managed_fields_junk = st.lists(st.fixed_dictionaries({}, optional={
    "manager": json_values, "operation": st.sampled_from(["Apply", "Update", "x"]) | json_values,
    "apiVersion": json_values, "time": json_values, "fieldsType": json_values,
    "fieldsV1": json_values, "subresource": json_values}), max_size=3)


def all_paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key/index path inside a seed, so mutations also reach fields not listed above."""
    found = [here] if here else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += all_paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += all_paths(item, (*here, index))
    return found


def put(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`obj` with `value` at `path`, creating dicts on the way (a list index past its end is
    appended); a non-container on the way is replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int) and isinstance(obj, list):
        if head < len(obj):
            obj[head] = put(obj[head], rest, value)
        else:
            obj.append(put(None, rest, value))
        return obj
    container = obj if isinstance(obj, dict) else {}
    container[head] = put(container.get(head), rest, value)
    return container


@st.composite
def mutated(draw: st.DrawFn, spec: ResourceSpec, name: str) -> dict[str, Any]:
    """A seed with one to three values of the wrong type (or junk) in the right places."""
    obj = seed(spec, name)
    candidates = MUTATION_PATHS + all_paths(obj)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(candidates))
        junk = managed_fields_junk if path[-1:] == ("managedFields",) else json_values
        obj = put(obj, path, draw(junk))
    return obj


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


wire_junk = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 7), st.binary(max_size=24)),
                     max_size=6).map(lambda fields: b"".join(
                         _varint(n << 3 | w) + (_varint(len(p)) if w == 2 else b"") + p
                         for n, w, p in fields))


@st.composite
def protobuf_bodies(draw: st.DrawFn, spec: ResourceSpec) -> bytes:
    """A kubernetes protobuf envelope (k8s\\0 + runtime.Unknown) around a message that is
    valid-looking, random wire data, or either cut short."""
    type_meta = _field(1, draw(st.sampled_from([api_version(spec), "v1", "", "x/y/z"])).encode()) \
        + _field(2, draw(st.sampled_from([spec.kind, "Status", "", "Nope"])).encode())
    metadata = _field(1, draw(st.sampled_from([b"pb", b"", b"\xff\xfe", b"A" * 300])))
    raw = draw(st.sampled_from([_field(1, metadata), b""]) | wire_junk)
    unknown = _field(1, type_meta) + _field(2, raw) \
        + draw(st.sampled_from([b"", _field(3, b"gzip"), _field(4, b"application/json")]))
    body = b"k8s\x00" + unknown
    cut = draw(st.integers(0, len(body)))
    return draw(st.sampled_from([body, body[:cut], b"k8s\x00" + draw(wire_junk)]))


YAML_JUNK = [b"a: [", b"{", b"- - -\n  x: : :", b"*alias", b"&a [*a]", b"!!python/object:os.system {}",
             b"metadata: !!binary aGVsbG8=", b"metadata: {name: !!binary aGVsbG8=}",
             b"metadata: {name: 2024-01-01}", b"metadata: {name: x, labels: {1: 2}}",
             b"metadata: {name: x, labels: !!set {a, b}}", b"metadata: {name: .nan}",
             b"metadata: {name: x}\nspec: {replicas: .inf}", b"? [a]\n: b",
             b"metadata: {name: x, creationTimestamp: 2024-01-01 10:00:00}",
             b"%YAML 1.1\n---\na: 1\n---\nb: 2", b"\xff\xfe\x00", b"a: b\tc: d", b"---",
             b"a: &x [1]\nb: *x\nmetadata: {name: *x}",
             b"{" * 2000, b"[" * 2000, b"- " * 2000 + b"x"]


def body_for(spec: ResourceSpec, name: str) -> st.SearchStrategy[tuple[bytes, bytes]]:
    """(Content-Type, body) pairs of every shape a confused or hostile client might send."""
    as_json = b"application/json"
    return st.one_of(
        mutated(spec, name).map(lambda o: (as_json, json.dumps(o).encode())),
        mutated(spec, name).map(lambda o: (b"application/yaml", json.dumps(o).encode())),
        json_values.map(lambda v: (as_json, json.dumps(v).encode())),
        deep.map(lambda d: (as_json, d.encode())),
        deep.map(lambda d: (b"application/yaml", d.encode())),
        st.sampled_from(YAML_JUNK).map(lambda y: (b"application/yaml", y)),
        st.binary(max_size=300).map(lambda b: (as_json, b)),
        st.binary(max_size=300).map(lambda b: (b"application/vnd.kubernetes.protobuf", b)),
        protobuf_bodies(spec).map(lambda b: (b"application/vnd.kubernetes.protobuf", b)),
        st.tuples(content_type, json_values.map(lambda v: json.dumps(v).encode())))


patch_body = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.fixed_dictionaries({"op": st.sampled_from(
        ["add", "remove", "replace", "move", "copy", "test", "nope"]) | json_values},
        optional={"path": st.sampled_from(["/metadata/labels/a", "/spec", "/", "", "/-",
                                           "/metadata/labels/~2", "/spec/containers/99",
                                           "/spec/containers/-", "/metadata/name",
                                           "/metadata/finalizers/0", "a/b", "/~"]) | json_values,
                  "from": st.sampled_from(["/metadata", "/spec", "/x"]) | json_values,
                  "value": json_values}), max_size=4).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={
        "metadata": json_values, "spec": json_values, "$patch": json_values,
        "$retainKeys": json_values, "$setElementOrder/containers": json_values,
        "$deleteFromPrimitiveList/finalizers": json_values}).map(
            lambda v: json.dumps(v).encode()),
    st.sampled_from(YAML_JUNK), deep.map(str.encode), st.binary(max_size=200))

odd_segment = st.one_of(
    st.text(max_size=30), st.sampled_from(["..", ".", "%", "%2e%2e", "a/b", "x" * 5000, "-", "_",
                                           "A", "\u00e9", "\U0001f600", " ", "~", "*", ""]))
junk_query_value = st.one_of(printable, st.sampled_from([
    "", "-1", "0", "9" * 40, str(2**63), str(2**63 - 1), str(-(2**63) - 1), "1e3", "true", "True", "yes", "All", "None", "Orphan", "Background",
    "Foreground", "a=b", "a!=b,c", "a in (b)", "a notin (", "!a", "metadata.name=x",
    "spec.nodeName=", "status.phase==Running", "x=y=z", "a,,b", "\u00b2", "٣", "eyJ2IjoxfQ",
    "Exact", "NotOlderThan", "Strict", "Warn", "Ignore"]),
    (json_values | st.fixed_dictionaries({"v": json_values, "rv": huge_numbers | json_values,
                                          "start": json_values})).map(
        lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")),
    st.sampled_from(['{"rv": Infinity, "start": ""}', "[" * 3000 + "]" * 3000]).map(
        lambda v: base64.urlsafe_b64encode(v.encode()).decode()))
QUERY_NAMES = ["labelSelector", "fieldSelector", "resourceVersion", "resourceVersionMatch",
               "limit", "continue", "watch", "timeoutSeconds", "dryRun", "fieldManager",
               "fieldValidation", "propagationPolicy", "gracePeriodSeconds", "orphanDependents",
               "allowWatchBookmarks", "sendInitialEvents", "force", "pretty",
               "includeObject", "follow", "container", "tailLines", "sinceSeconds"]
queries = st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | st.text(max_size=8),
                             junk_query_value), max_size=5)


def url(path: str, query: list[tuple[str, str]] | None = None) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def segment(text: str) -> str:
    return quote(text, safe="") or "%20"


# -- the properties --------------------------------------------------------------------------

@FUZZ
@given(header=authorization, path=st.sampled_from([
    "/api", "/api/v1/namespaces", f"/api/v1/namespaces/{NAMESPACE}/pods", "/version",
    "/apis/apps/v1/deployments", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "/openapi/v2", "/healthz"]),
    method=st.sampled_from(["GET", "POST", "DELETE"]))
def test_any_authorization_header_is_a_4xx_without_a_certificate(fuzzed: Fuzzed, header: bytes,
                                                                 path: str, method: str) -> None:
    body = b'{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1"}'
    reply = fuzzed.anonymous.send(method, path, {"Authorization": header, **JSON},
                                 body if method == "POST" else None)
    assert reply.ok, reply


ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY = "kubernetes.io/serviceaccount/"


def valid_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": [ISSUER], "sub": f"system:serviceaccount:{NAMESPACE}:default",
            "exp": now + 3600, "iat": now, "nbf": now, "jti": "j",
            "kubernetes.io": {"namespace": NAMESPACE,
                              "serviceaccount": {"name": "default", "uid": "u-1"},
                              "pod": {"name": SEED, "uid": "u-2"}, "node": {"name": "n"}}}


@st.composite
def signed_claims(draw: st.DrawFn) -> dict[str, Any]:
    """Claims behind a signature the server trusts: only their content can be wrong."""
    claims: Any = valid_claims()
    candidates = [*all_paths(claims), ("kubernetes.io", "warnafter"), (f"{LEGACY}namespace",),
                  (f"{LEGACY}service-account.name",), (f"{LEGACY}service-account.uid",),
                  (f"{LEGACY}secret.name",)]
    for _ in range(draw(st.integers(1, 3))):
        claims = put(claims, draw(st.sampled_from(candidates)), draw(huge_numbers | json_values))
    return claims if isinstance(claims, dict) else {"claims": claims}


@FUZZ
@given(claims=signed_claims(), path=st.sampled_from([
    "/api/v1/namespaces", f"/api/v1/namespaces/{NAMESPACE}/pods",
    "/apis/authentication.k8s.io/v1/selfsubjectreviews"]))
def test_any_claims_in_a_correctly_signed_token_are_a_4xx(fuzzed: Fuzzed, claims: dict[str, Any],
                                                          path: str) -> None:
    token = jws.sign(claims, fuzzed.signing_key)
    method = "POST" if path.endswith("reviews") else "GET"
    body = b'{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1"}'
    reply = fuzzed.anonymous.send(method, path, {"Authorization": f"Bearer {token}".encode(),
                                                 **JSON}, body if method == "POST" else None)
    assert reply.ok, reply


token_field = st.one_of(printable, st.sampled_from([
    "true", "false", "", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2024-01-01T00:00:00",
    "2024-01-01T00:00:00+23:59", "2024-02-30T00:00:00Z", "99999-01-01T00:00:00Z", "1e9",
    "system:bootstrappers:a,,system:masters", "system:bootstrappers:" + "x" * 5000]))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from([
    "token-id", "token-secret", "expiration", "usage-bootstrap-authentication",
    "usage-bootstrap-signing", "auth-extra-groups", "description"]), token_field),
    kind=st.sampled_from(["bootstrap.kubernetes.io/token", "Opaque"]),
    secret=st.sampled_from(["0123456789abcdef", "0123456789abcdeX"]))
@example(fields={}, kind="bootstrap.kubernetes.io/token", secret="0123456789abcdef")
def test_any_bootstrap_token_secret_content_is_a_4xx(fuzzed: Fuzzed, fields: dict[str, str],
                                                     kind: str, secret: str) -> None:
    """The Secret behind a bootstrap token holds junk (expirations, usages, groups): using the
    token is a 401/403, whatever the Secret says."""
    data = {"token-id": "fuzzab", "token-secret": "0123456789abcdef",
            "usage-bootstrap-authentication": "true", **fields}
    body = {"metadata": {"name": "bootstrap-token-fuzzab", "namespace": "kube-system"},
            "type": kind, "stringData": data}
    path = "/api/v1/namespaces/kube-system/secrets"
    fuzzed.admin.send("DELETE", f"{path}/bootstrap-token-fuzzab")
    created = fuzzed.admin.send("POST", path, JSON, json.dumps(body).encode())
    assert created.ok, created
    reply = fuzzed.anonymous.send("GET", "/api/v1/namespaces", {
        "Authorization": f"Bearer fuzzab.{secret}".encode()})
    assert reply.ok, reply
    if not fields and kind.startswith("bootstrap") and secret.endswith("f"):
        assert reply.status == 403  # the untouched Secret authenticates: RBAC says no


@FUZZ
@given(spec=specs, content=content_type, accepts=accept, impersonate=impersonation,
       verb=st.sampled_from(["list", "get", "create", "watch"]), agent=header_bytes)
def test_any_negotiation_header_is_a_4xx(fuzzed: Fuzzed, spec: ResourceSpec, content: bytes,
                                         accepts: bytes, impersonate: dict[str, bytes],
                                         verb: str, agent: bytes) -> None:
    headers = {"Content-Type": content, "Accept": accepts, "User-Agent": agent, **impersonate}
    if verb == "create":
        body = json.dumps(seed(spec, f"neg-{len(content)}")).encode()
        reply = fuzzed.admin.send("POST", url(collection(spec), [("dryRun", "All")]), headers,
                                 body)
    elif verb == "get":
        reply = fuzzed.admin.send("GET", f"{collection(spec)}/{SEED}", headers)
    else:
        query = [("watch", "true"), ("timeoutSeconds", "1")] if verb == "watch" else []
        reply = fuzzed.admin.send("GET", url(collection(spec), query), headers)
    assert reply.ok, reply


@FUZZ
@given(data=st.data(), spec=specs, dry_run=st.booleans())
def test_any_create_body_is_a_4xx(fuzzed: Fuzzed, data: st.DataObject, spec: ResourceSpec,
                                  dry_run: bool) -> None:
    kind, body = data.draw(body_for(spec, data.draw(st.sampled_from(["c1", "c2", SEED]))))
    query = [("dryRun", "All")] if dry_run else []
    reply = fuzzed.admin.send("POST", url(collection(spec), query), {"Content-Type": kind}, body)
    assert reply.ok, reply


@FUZZ
@given(data=st.data(), spec=specs, subresource=st.sampled_from(["", "/status", "/scale"]))
def test_any_update_body_is_a_4xx(fuzzed: Fuzzed, data: st.DataObject, spec: ResourceSpec,
                                  subresource: str) -> None:
    kind, body = data.draw(body_for(spec, SEED))
    reply = fuzzed.admin.send("PUT", f"{collection(spec)}/{SEED}{subresource}",
                             {"Content-Type": kind}, body)
    assert reply.ok, reply


SUBRESOURCE_WRITES = [  # (resource, subresource, method, kind the body should have been)
    ("pods", "binding", "POST", "Binding"), ("pods", "eviction", "POST", "Eviction"),
    ("serviceaccounts", "token", "POST", "TokenRequest"), ("deployments", "scale", "PUT", "Scale"),
    ("statefulsets", "scale", "PATCH", "Scale"), ("namespaces", "finalize", "PUT", "Namespace"),
    ("certificatesigningrequests", "approval", "PUT", "CertificateSigningRequest"),
    ("pods", "status", "PUT", "Pod"), ("services", "status", "PATCH", "Service")]
BY_PLURAL = {spec.plural: spec for spec in SPECS}


@st.composite
def subresource_bodies(draw: st.DrawFn, kind: str) -> bytes:
    """An object of roughly the right kind with junk in its fields, or plain junk."""
    shaped = st.fixed_dictionaries({"kind": st.just(kind) | json_values}, optional={
        "apiVersion": st.sampled_from(["v1", "policy/v1", "autoscaling/v1"]) | json_values,
        "metadata": json_values | st.fixed_dictionaries({"name": st.just(SEED) | json_values}),
        "spec": json_values | st.fixed_dictionaries({}, optional={
            "replicas": huge_numbers | json_values, "audiences": json_values,
            "expirationSeconds": huge_numbers | json_values, "boundObjectRef": json_values,
            "finalizers": json_values}),
        "target": json_values | st.fixed_dictionaries({"name": json_values}),
        "deleteOptions": json_values, "status": json_values})
    return draw(st.one_of(shaped.map(lambda v: json.dumps(v).encode()),
                          json_values.map(lambda v: json.dumps(v).encode()),
                          st.binary(max_size=100)))


@FUZZ
@given(data=st.data(), write=st.sampled_from(SUBRESOURCE_WRITES))
def test_any_subresource_body_is_a_4xx(fuzzed: Fuzzed, data: st.DataObject,
                                       write: tuple[str, str, str, str]) -> None:
    """Bindings, evictions, token requests, scales, finalize and approval with junk bodies;
    always a dry run, so the seeds stay as they are."""
    plural, subresource, method, kind = write
    body = data.draw(subresource_bodies(kind))
    content = b"application/merge-patch+json" if method == "PATCH" else b"application/json"
    path = url(f"{collection(BY_PLURAL[plural])}/{SEED}/{subresource}", [("dryRun", "All")])
    reply = fuzzed.admin.send(method, path, {"Content-Type": content}, body)
    assert reply.ok, reply


@FUZZ
@given(spec=specs, patch_type=st.sampled_from(PATCH_TYPES).map(str.encode) | content_type,
       body=patch_body, subresource=st.sampled_from(["", "/status", "/scale"]),
       query=st.sampled_from([[], [("fieldManager", "fuzz")], [("force", "true")],
                              [("fieldManager", "fuzz"), ("force", "true")], [("dryRun", "All")]]))
def test_any_patch_is_a_4xx(fuzzed: Fuzzed, spec: ResourceSpec, patch_type: bytes, body: bytes,
                            subresource: str, query: list[tuple[str, str]]) -> None:
    path = url(f"{collection(spec)}/{SEED}{subresource}", query)
    reply = fuzzed.admin.send("PATCH", path, {"Content-Type": patch_type}, body)
    assert reply.ok, reply


delete_options = st.one_of(
    st.fixed_dictionaries({}, optional={
        "kind": st.just("DeleteOptions") | json_values,
        "apiVersion": st.sampled_from(["v1", "meta.k8s.io/v1"]) | json_values,
        "gracePeriodSeconds": huge_numbers | json_values,
        "propagationPolicy": st.sampled_from(["Orphan", "Background", "Foreground"]) | json_values,
        "orphanDependents": json_values, "dryRun": json_values,
        "preconditions": json_values | st.fixed_dictionaries({}, optional={
            "uid": json_values, "resourceVersion": json_values})}).map(
        lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=100),
    st.sampled_from(YAML_JUNK))


@FUZZ
@given(spec=specs, body=delete_options, query=queries, content=content_type,
       target=st.sampled_from(["one", "collection"]))
def test_any_delete_is_a_4xx(fuzzed: Fuzzed, spec: ResourceSpec, body: bytes,
                             query: list[tuple[str, str]], content: bytes, target: str) -> None:
    """Deletes always carry dryRun=All appended, so the seeds stay for the other properties
    (a junk dryRun value drawn into the query is still parsed first)."""
    path = collection(spec) + (f"/{SEED}" if target == "one" else "")
    reply = fuzzed.admin.send("DELETE", url(path, [*query, ("dryRun", "All")]),
                             {"Content-Type": content}, body)
    assert reply.ok, reply


@FUZZ
@given(spec=specs, query=queries, named=st.booleans(), accepts=accept)
def test_any_query_string_is_a_4xx(fuzzed: Fuzzed, spec: ResourceSpec,
                                   query: list[tuple[str, str]], named: bool,
                                   accepts: bytes) -> None:
    path = collection(spec) + (f"/{SEED}" if named else "")
    reply = fuzzed.admin.send("GET", url(path, query), {"Accept": accepts})
    assert reply.ok, reply


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD",
                               "FUZZ"]),
       spec=specs, group=st.sampled_from(["", "apps", "nope.example.com", "..", "api"])
       | odd_segment, version=st.sampled_from(["v1", "v2", "v1beta1", ""]) | odd_segment,
       namespace=odd_segment | st.just(NAMESPACE), name=odd_segment | st.just(SEED),
       subresource=st.sampled_from(["", "status", "scale", "log", "binding", "eviction",
                                    "token", "finalize", "approval", "exec", "attach", "nope"])
       | odd_segment, shape=st.integers(0, 4))
def test_any_path_is_a_4xx(fuzzed: Fuzzed, method: str, spec: ResourceSpec, group: str,
                           version: str, namespace: str, name: str, subresource: str,
                           shape: int) -> None:
    """Odd namespaces, names, groups, versions and subresources, percent-encoded as a client
    must; the body is a valid object so only the path is wrong."""
    ns, obj, sub = segment(namespace), segment(name), segment(subresource)
    paths = [f"/api/v1/namespaces/{ns}/{spec.plural}/{obj}/{sub}",
             f"/apis/{segment(group)}/{segment(version)}/{spec.plural}",
             f"/apis/{segment(group)}/{segment(version)}/namespaces/{ns}/{spec.plural}/{obj}",
             f"{collection(spec, ns)}/{obj}" + (f"/{sub}" if subresource else ""),
             f"/{segment(group)}/{obj}/../{sub}"]
    body = json.dumps(seed(spec, name)).encode() if method in ("POST", "PUT", "PATCH") else None
    headers = {"Content-Type": b"application/merge-patch+json" if method == "PATCH"
               else b"application/json"}
    reply = fuzzed.admin.send(method, paths[shape], headers, body)
    assert reply.ok, reply


# -- what the fuzzing found, as plain examples -----------------------------------------------

PODS = f"/api/v1/namespaces/{NAMESPACE}/pods"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


@pytest.mark.parametrize(("method", "path", "code"), [
    ("GET", f"{PODS}/{SEED}/binding", 405), ("PUT", f"{PODS}/{SEED}/log", 405),
    ("GET", f"{PODS}/{SEED}/eviction", 405), ("PUT", f"{PODS}/{SEED}/exec", 405),
    ("GET", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{SEED}/token", 405),
    ("GET", f"/api/v1/namespaces/{NAMESPACE}/services/missing/proxy", 404),
], ids=lambda v: str(v))
def test_a_subresource_asked_with_a_verb_it_lacks_is_a_405(fuzzed: Fuzzed, method: str,
                                                           path: str, code: int) -> None:
    """These were 503 "not implemented yet"; upstream answers 405 (and 404 for a service
    that does not exist)."""
    assert fuzzed.admin.send(method, path, JSON, b"{}" if method == "PUT" else None
                             ).status == code


@pytest.mark.parametrize(("plural", "subresource", "body", "words"), [
    ("deployments", "scale", {"spec": "3"}, "spec: must be an object in a Scale"),
    ("deployments", "scale", {"metadata": ["x"], "spec": {"replicas": 1}},
     "metadata: must be an object in a Scale"),
    ("pods", "binding", {"target": "node1"}, "target: must be an object"),
    ("pods", "binding", {"target": {"name": 5}}, "target: must be an object whose name is a"),
], ids=lambda v: str(v))
def test_a_subresource_body_of_the_wrong_shape_is_a_400(fuzzed: Fuzzed, plural: str,
                                                        subresource: str, body: Any,
                                                        words: str) -> None:
    """Were AttributeErrors (500): a string where the Scale's spec or the Binding's target
    belongs."""
    method = "PUT" if subresource == "scale" else "POST"
    path = url(f"{collection(BY_PLURAL[plural])}/{SEED}/{subresource}", [("dryRun", "All")])
    reply = fuzzed.admin.send(method, path, JSON, json.dumps(body).encode())
    assert reply.status == 400 and words.encode() in reply.body, reply


def test_a_body_deep_enough_to_overflow_the_parser_is_a_400_and_the_server_lives(
        fuzzed: Fuzzed) -> None:
    """400,000 levels of `[` crashed the process (orjson's native stack)."""
    body = b"[" * 400_000 + b"]" * 400_000
    reply = fuzzed.admin.send("POST", CONFIGMAPS, JSON, body)
    assert reply.status == 400 and b"deeper than 100 levels" in reply.body
    assert fuzzed.admin.send("GET", CONFIGMAPS).status == 200


def test_a_yaml_binary_name_is_the_text_it_holds(fuzzed: Fuzzed) -> None:
    body = b"metadata: {name: !!binary eWFtbC1iaW5hcnk=}\ndata: {when: 2024-01-01}"
    reply = fuzzed.admin.send("POST", url(CONFIGMAPS, [("dryRun", "All")]),
                              {"Content-Type": b"application/yaml"}, body)
    assert reply.status == 201, reply
    created = json.loads(reply.body)
    assert (created["metadata"]["name"], created["data"]) == ("yaml-binary",
                                                               {"when": "2024-01-01"})


def test_an_impersonated_user_that_is_not_utf8_gets_a_json_403(fuzzed: Fuzzed) -> None:
    reply = fuzzed.admin.send("GET", CONFIGMAPS, {"Impersonate-User": b"fuzz\xb9"})
    assert reply.status == 403
    assert 'User "fuzz\ufffd" cannot list' in json.loads(reply.body)["message"]


def test_a_field_name_with_a_control_character_is_a_warning_not_a_dropped_connection(
        fuzzed: Fuzzed) -> None:
    body = json.dumps({"metadata": {"name": "warned"}, "\u001f": 1}).encode()
    reply = fuzzed.admin.send("POST", url(CONFIGMAPS, [("dryRun", "All"),
                                                       ("fieldValidation", "Warn")]), JSON, body)
    assert reply.status == 201, reply


def test_the_server_survived_and_still_serves(fuzzed: Fuzzed) -> None:
    """After all of the above: the process is alive, logged no internal error, and a plain
    create, get and delete of a ConfigMap work."""
    assert fuzzed.cluster.apiserver.process is not None
    assert fuzzed.cluster.apiserver.process.alive()
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    body = json.dumps({"metadata": {"name": "after-fuzz"}, "data": {"k": "v"}}).encode()
    assert fuzzed.admin.send("POST", path, JSON, body).status == 201
    assert fuzzed.admin.send("GET", f"{path}/after-fuzz").status == 200
    assert fuzzed.admin.send("DELETE", f"{path}/after-fuzz").status == 200
    assert "internal error serving" not in fuzzed.cluster.logs()
    print(f"\nfuzzed the apiserver with {fuzzed.total()} requests")
