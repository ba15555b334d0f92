"""Real kubectl 1.32/1.33 write bodies, captured on the wire, decode to what kubectl means.

For each `kubectl create ...` the body kubectl sends (protobuf) must decode to exactly the object
the same command prints with ``--dry-run=client -o json`` — i.e. what kubectl 1.31 would have sent
as JSON. Commands with no dry-run (token, auth) are compared with the object they must carry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from protobuf_capture_server import KUBECTL_132, KUBECTL_133, Capture

from kubeadmpy.machinery.protobuf import PROTOBUF_CONTENT_TYPE, decode_k8s_protobuf

pytestmark = pytest.mark.skipif(not KUBECTL_133.exists(), reason="kubectl 1.33 is not installed")

# The files the --from-file options below read, created in the kubectl working directory.
INPUT_FILES = {
    "settings.ini": b"[server]\nport = 8080\n",
    "logo.bin": bytes(range(256)),
    "id_ed25519": b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
}

CREATE_COMMANDS: list[tuple[str, list[str]]] = [
    ("config map from literals, a text file and a binary file, with a hash suffix",
     ["create", "configmap", "app-config", "--from-literal=mode=prod", "--from-literal=empty=",
      "--from-file=settings.ini", "--from-file=logo.bin", "--append-hash"]),
    ("generic secret from literals and a file, with a custom type",
     ["create", "secret", "generic", "creds", "--from-literal=user=admin",
      "--from-literal=password=p@ss w0rd", "--from-file=ssh-key=id_ed25519",
      "--type=example.com/custom"]),
    ("docker registry secret",
     ["create", "secret", "docker-registry", "regcred", "--docker-server=registry.example",
      "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com"]),
    ("namespace", ["create", "namespace", "team-a"]),
    ("deployment with zero replicas and a port",
     ["create", "deployment", "web", "--image=nginx:1.25", "--replicas=0", "--port=8080"]),
    ("deployment with two images", ["create", "deployment", "multi", "--image=busybox",
                                    "--image=nginx", "--replicas=3"]),
    ("deployment with a command", ["create", "deployment", "sleeper", "--image=busybox",
                                   "--", "sleep", "3600"]),
    ("cluster IP service with numeric and named target ports",
     ["create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=443:https"]),
    ("headless service", ["create", "service", "clusterip", "db", "--clusterip=None",
                          "--tcp=5432"]),
    ("node port service", ["create", "service", "nodeport", "np", "--tcp=80:8080",
                           "--node-port=30080"]),
    ("load balancer service", ["create", "service", "loadbalancer", "lb", "--tcp=443:8443"]),
    ("external name service", ["create", "service", "externalname", "ext",
                               "--external-name=db.example.com", "--tcp=5432"]),
    ("service account", ["create", "serviceaccount", "builder"]),
    ("job with a command", ["create", "job", "nightly", "--image=busybox", "--", "sh", "-c",
                            "echo hello"]),
    ("cron job", ["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *",
                  "--restart=OnFailure", "--", "date"]),
    ("role over core and apps resources with resource names",
     ["create", "role", "reader", "--verb=get,list,watch", "--resource=pods,deployments.apps",
      "--resource-name=web"]),
    ("cluster role for a non-resource URL", ["create", "clusterrole", "metrics", "--verb=get",
                                             "--non-resource-url=/metrics"]),
    ("role binding to a user, a group and a service account",
     ["create", "rolebinding", "read-it", "--role=reader", "--user=alice", "--group=devs",
      "--serviceaccount=default:builder"]),
    ("cluster role binding", ["create", "clusterrolebinding", "view-all", "--clusterrole=view",
                              "--group=auditors"]),
    ("resource quota with quantities and scopes",
     ["create", "quota", "compute", "--hard=cpu=2,memory=1Gi,pods=10,requests.storage=500Mi",
      "--scopes=BestEffort"]),
    ("priority class", ["create", "priorityclass", "high", "--value=1000",
                        "--description=important work", "--preemption-policy=Never"]),
    ("pod disruption budget with a percentage", ["create", "poddisruptionbudget", "pdb-pct",
                                                 "--selector=app=web", "--min-available=50%"]),
    ("pod disruption budget with a number", ["create", "poddisruptionbudget", "pdb-num",
                                             "--selector=app=web", "--max-unavailable=1"]),
    ("ingress with class, rules, TLS, default backend and annotations",
     ["create", "ingress", "web", "--class=nginx",
      "--rule=example.com/api*=api:80,tls=example-tls", "--rule=/static=static:http",
      "--default-backend=web:8080", "--annotation=team=web"]),
    ("horizontal pod autoscaler (autoscale) for a deployment",
     ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80",
      "--name=web-hpa"]),
]


def write_inputs(workdir: Path) -> None:
    for name, content in INPUT_FILES.items():
        (workdir / name).write_bytes(content)


def only_protobuf_write(capture: Capture) -> bytes:
    writes = [w for w in capture.server.writes() if w.method == "POST"]
    assert len(writes) == 1, [w.path for w in writes]
    assert writes[0].content_type == PROTOBUF_CONTENT_TYPE
    return writes[0].body


async def sent_and_meant(capture: Capture, binary: Path, args: list[str]) -> tuple[Any, Any]:
    write_inputs(capture.workdir)
    split = args.index("--") if "--" in args else len(args)  # flags go before the command
    dry_run_args = [*args[:split], "--dry-run=client", "-o", "json", *args[split:]]
    dry_run = await capture.kubectl(binary, *dry_run_args)
    assert dry_run.returncode == 0, dry_run.stderr
    meant = json.loads(dry_run.stdout)
    result = await capture.kubectl(binary, *args)
    assert result.returncode == 0, result.stderr
    return decode_k8s_protobuf(only_protobuf_write(capture)), meant


@pytest.mark.parametrize("args", [a for _, a in CREATE_COMMANDS],
                         ids=[f"kubectl 1.33 {i}" for i, _ in CREATE_COMMANDS])
async def test_kubectl_133_create_bodies_decode_to_the_json_kubectl_means(
    capture: Capture, args: list[str]
) -> None:
    sent, meant = await sent_and_meant(capture, KUBECTL_133, args)
    assert sent == meant
    assert json.dumps(sent) == json.dumps(meant)  # even the key order is Go's


KUBECTL_132_SUBSET = [c for c in CREATE_COMMANDS if c[0].split()[0] in
                      ("deployment", "generic", "cluster", "job", "ingress")]


@pytest.mark.skipif(not KUBECTL_132.exists(), reason="kubectl 1.32 is not installed")
@pytest.mark.parametrize("args", [a for _, a in KUBECTL_132_SUBSET],
                         ids=[f"kubectl 1.32 {i}" for i, _ in KUBECTL_132_SUBSET])
async def test_kubectl_132_create_bodies_decode_to_the_json_kubectl_means(
    capture: Capture, args: list[str]
) -> None:
    sent, meant = await sent_and_meant(capture, KUBECTL_132, args)
    assert sent == meant


async def test_a_token_request_carries_audiences_and_duration(capture: Capture) -> None:
    result = await capture.kubectl(KUBECTL_133, "create", "token", "builder", "--audience=api",
                                   "--audience=vault", "--duration=10m")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "captured-token"
    assert capture.server.writes()[0].path == (
        "/api/v1/namespaces/default/serviceaccounts/builder/token")
    assert decode_k8s_protobuf(only_protobuf_write(capture)) == {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"audiences": ["api", "vault"], "expirationSeconds": 600},
        "status": {"token": "", "expirationTimestamp": None},
    }


async def test_auth_can_i_sends_a_self_subject_access_review(capture: Capture) -> None:
    result = await capture.kubectl(KUBECTL_133, "auth", "can-i", "create", "deployments.apps",
                                   "--subresource=scale", "-n", "team-a")
    assert result.stdout.strip() == "yes", result.stderr
    assert decode_k8s_protobuf(only_protobuf_write(capture)) == {
        "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"resourceAttributes": {"namespace": "team-a", "verb": "create",
                                        "group": "apps", "resource": "deployments",
                                        "subresource": "scale"}},
        "status": {"allowed": False},
    }


async def test_auth_can_i_list_sends_a_self_subject_rules_review(capture: Capture) -> None:
    result = await capture.kubectl(KUBECTL_133, "auth", "can-i", "--list", "-n", "team-a")
    assert result.returncode == 0, result.stderr
    assert decode_k8s_protobuf(only_protobuf_write(capture)) == {
        "kind": "SelfSubjectRulesReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": {"namespace": "team-a"},
        "status": {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
    }


async def test_auth_whoami_sends_a_self_subject_review(capture: Capture) -> None:
    result = await capture.kubectl(KUBECTL_133, "auth", "whoami")
    assert result.returncode == 0, result.stderr
    assert "tester" in result.stdout
    assert decode_k8s_protobuf(only_protobuf_write(capture)) == {
        "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None}, "status": {"userInfo": {}},
    }


@pytest.mark.parametrize(
    "binary",
    [KUBECTL_133, pytest.param(KUBECTL_132, marks=pytest.mark.skipif(
        not KUBECTL_132.exists(), reason="kubectl 1.32 is not installed"))],
    ids=["kubectl 1.33", "kubectl 1.32"],
)
async def test_drain_without_eviction_deletes_with_protobuf_delete_options(
    capture: Capture, binary: Path
) -> None:
    result = await capture.kubectl(binary, "drain", "node-1", "--disable-eviction",
                                   "--grace-period=3", "--timeout=30s")
    assert result.returncode == 0, result.stderr
    deletes = [w for w in capture.server.writes() if w.method == "DELETE"]
    assert [d.path for d in deletes] == ["/api/v1/namespaces/default/pods/web-7d4b9c"]
    assert deletes[0].content_type == PROTOBUF_CONTENT_TYPE
    assert decode_k8s_protobuf(deletes[0].body) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 3,
    }
