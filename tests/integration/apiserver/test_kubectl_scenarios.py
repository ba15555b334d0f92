"""The scenario list, each run with the real kubectl 1.27 and 1.33 against kubeadmpy-apiserver.

Scenarios: version, api-resources, get (table, wide, yaml, json, jsonpath), create -f, apply
(client-side and --server-side), label, annotate, edit-style patch, create <kind> (protobuf on
1.33), scale, wait --for=condition, get -w, explain, describe, delete with cascade modes, and
the error messages kubectl prints for NotFound, AlreadyExists and Invalid.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import time

import pytest
import yaml
from apiserver_harness import KUBECTL_VERSIONS, Cluster

_names = itertools.count()


@pytest.fixture
def ns(cluster: Cluster, kubectl_version: str) -> str:
    """A fresh namespace per test (names never repeat within a session)."""
    name = f"t{next(_names)}-{kubectl_version.replace('.', '')}"
    cluster.kubectl(kubectl_version, "create", "namespace", name)
    return name


CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: web}
data:
  color: blue
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""


def test_version_shows_the_server_version(cluster: Cluster, kubectl_version: str) -> None:
    out = cluster.kubectl(kubectl_version, "version", "-o", "json").stdout
    server = json.loads(out)["serverVersion"]
    assert server["major"] == "1" and server["gitVersion"].startswith("v1.")


def test_api_resources_lists_kinds_groups_and_short_names(cluster: Cluster,
                                                          kubectl_version: str) -> None:
    out = cluster.kubectl(kubectl_version, "api-resources").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["deployments"][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"][1:] == ["ns", "v1", "false", "Namespace"]
    for plural in ("pods", "services", "jobs", "cronjobs", "leases", "endpointslices",
                   "storageclasses", "certificatesigningrequests", "clusterrolebindings"):
        assert plural in rows


def test_create_from_file_then_get_in_every_output_format(cluster: Cluster, kubectl_version: str,
                                                          ns: str) -> None:
    k = cluster.kubectl
    assert "configmap/settings created" in k(kubectl_version, "create", "-n", ns, "-f", "-",
                                             stdin=CONFIGMAP).stdout
    table = k(kubectl_version, "get", "configmaps", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"]
    assert table[1].split()[:2] == ["settings", "1"]
    as_yaml = yaml.safe_load(k(kubectl_version, "get", "cm", "settings", "-n", ns,
                               "-o", "yaml").stdout)
    assert as_yaml["data"] == {"color": "blue"}
    assert as_yaml["metadata"]["uid"] and as_yaml["metadata"]["resourceVersion"]
    as_json = json.loads(k(kubectl_version, "get", "cm", "-n", ns, "-o", "json").stdout)
    assert as_json["kind"] == "List" or as_json["kind"] == "ConfigMapList"
    assert [i["metadata"]["name"] for i in as_json["items"]] == ["settings"]
    assert k(kubectl_version, "get", "cm", "settings", "-n", ns, "-o",
             "jsonpath={.data.color}").stdout == "blue"
    wide = k(kubectl_version, "get", "cm", "-n", ns, "-o", "wide", "--show-labels").stdout
    assert "app=web" in wide
    again = k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=CONFIGMAP, check=False)
    assert again.returncode == 1
    assert 'Error from server (AlreadyExists)' in again.stderr
    assert 'configmaps "settings" already exists' in again.stderr


def test_get_of_a_missing_object_says_not_found(cluster: Cluster, kubectl_version: str,
                                                ns: str) -> None:
    result = cluster.kubectl(kubectl_version, "get", "pod", "nope", "-n", ns, check=False)
    assert result.returncode == 1
    assert 'Error from server (NotFound): pods "nope" not found' in result.stderr


def test_client_side_apply_creates_then_patches(cluster: Cluster, kubectl_version: str,
                                                ns: str) -> None:
    k = cluster.kubectl
    assert "deployment.apps/web created" in k(kubectl_version, "apply", "-n", ns, "-f", "-",
                                              stdin=DEPLOYMENT).stdout
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3").replace("nginx:1.25",
                                                                      "nginx:1.26")
    assert "deployment.apps/web configured" in k(kubectl_version, "apply", "-n", ns, "-f", "-",
                                                 stdin=changed).stdout
    assert "unchanged" in k(kubectl_version, "apply", "-n", ns, "-f", "-", stdin=changed).stdout
    obj = json.loads(k(kubectl_version, "get", "deploy", "web", "-n", ns, "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert obj["metadata"]["generation"] == 2
    table = k(kubectl_version, "get", "deploy", "-n", ns, "-o", "wide").stdout.splitlines()
    assert table[0].split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "nginx:1.26" in table[1] and "app=web" in table[1]


def test_server_side_apply_creates_and_reports_conflicts(cluster: Cluster, kubectl_version: str,
                                                         ns: str) -> None:
    k = cluster.kubectl
    assert "serverside-applied" in k(kubectl_version, "apply", "--server-side", "-n", ns,
                                     "-f", "-", stdin=CONFIGMAP).stdout
    k(kubectl_version, "patch", "cm", "settings", "-n", ns, "--type=merge",
      "-p", '{"data":{"color":"red"}}')
    conflict = k(kubectl_version, "apply", "--server-side", "-n", ns, "-f", "-",
                 stdin=CONFIGMAP, check=False)
    assert conflict.returncode == 1 and "conflict" in conflict.stderr.lower()
    k(kubectl_version, "apply", "--server-side", "--force-conflicts", "-n", ns, "-f", "-",
      stdin=CONFIGMAP)
    assert k(kubectl_version, "get", "cm", "settings", "-n", ns, "-o",
             "jsonpath={.data.color}").stdout == "blue"


def test_label_annotate_and_patch_change_the_object(cluster: Cluster, kubectl_version: str,
                                                    ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=CONFIGMAP)
    assert "labeled" in k(kubectl_version, "label", "cm", "settings", "-n", ns,
                          "tier=front").stdout
    assert "annotate" in k(kubectl_version, "annotate", "cm", "settings", "-n", ns,
                            "note=hello").stdout
    k(kubectl_version, "patch", "cm", "settings", "-n", ns, "--type=json",
      "-p", '[{"op":"add","path":"/data/size","value":"L"}]')
    k(kubectl_version, "patch", "cm", "settings", "-n", ns, "-p", '{"data":{"shape":"round"}}')
    obj = json.loads(k(kubectl_version, "get", "cm", "settings", "-n", ns, "-o",
                       "json").stdout)
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert obj["metadata"]["annotations"]["note"] == "hello"
    assert obj["data"] == {"color": "blue", "size": "L", "shape": "round"}
    selected = k(kubectl_version, "get", "cm", "-n", ns, "-l", "tier=front,app in (web)",
                 "-o", "name").stdout
    assert selected.strip() == "configmap/settings"
    assert k(kubectl_version, "get", "cm", "-n", ns, "-l", "tier!=front",
             "-o", "name").stdout.strip() == ""


def test_typed_create_commands_work(cluster: Cluster, kubectl_version: str, ns: str) -> None:
    """kubectl 1.33 sends these bodies as protobuf; 1.27 as JSON."""
    k = cluster.kubectl
    k(kubectl_version, "create", "deployment", "api", "--image=nginx", "--replicas=2", "-n", ns)
    k(kubectl_version, "create", "configmap", "cfg", "--from-literal=a=1", "-n", ns)
    k(kubectl_version, "create", "secret", "generic", "pw", "--from-literal=p=s3cret", "-n", ns)
    k(kubectl_version, "create", "service", "clusterip", "api", "--tcp=80:8080", "-n", ns)
    k(kubectl_version, "create", "serviceaccount", "robot", "-n", ns)
    k(kubectl_version, "create", "job", "once", "--image=busybox", "-n", ns, "--", "true")
    deploy = json.loads(k(kubectl_version, "get", "deploy", "api", "-n", ns, "-o",
                          "json").stdout)
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx" and container["imagePullPolicy"] == "Always"
    assert k(kubectl_version, "get", "secret", "pw", "-n", ns, "-o",
             "jsonpath={.data.p}").stdout == "czNjcmV0"
    svc = json.loads(k(kubectl_version, "get", "svc", "api", "-n", ns, "-o", "json").stdout)
    assert svc["spec"]["clusterIP"].startswith("10.")
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    job = json.loads(k(kubectl_version, "get", "job", "once", "-n", ns, "-o", "json").stdout)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert "batch.kubernetes.io/controller-uid" in job["spec"]["selector"]["matchLabels"]


def test_scale_changes_replicas_through_the_scale_subresource(cluster: Cluster,
                                                              kubectl_version: str,
                                                              ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "apply", "-n", ns, "-f", "-", stdin=DEPLOYMENT)
    assert "scaled" in k(kubectl_version, "scale", "deploy/web", "--replicas=5", "-n", ns).stdout
    assert k(kubectl_version, "get", "deploy", "web", "-n", ns, "-o",
             "jsonpath={.spec.replicas}").stdout == "5"


def test_wait_for_condition_returns_when_status_says_so(cluster: Cluster, kubectl_version: str,
                                                        ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "run", "p", "--image=busybox", "-n", ns)
    waiter = subprocess.Popen(
        [KUBECTL_VERSIONS[kubectl_version], f"--kubeconfig={cluster.kubeconfig}",
         f"--cache-dir={cluster.workdir}/wait-cache", "wait", "--for=condition=Ready",
         "pod/p", "-n", ns, "--timeout=60s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        time.sleep(1)
        k(kubectl_version, "patch", "pod", "p", "-n", ns, "--subresource=status",
          "--type=merge", "-p",
          '{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}')
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert waiter.returncode == 0, err
    assert "condition met" in out


def test_get_watch_prints_changes_as_they_happen(cluster: Cluster, kubectl_version: str,
                                                 ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "configmap", "w1", "--from-literal=a=1", "-n", ns)
    watcher = subprocess.Popen(
        [KUBECTL_VERSIONS[kubectl_version], f"--kubeconfig={cluster.kubeconfig}",
         f"--cache-dir={cluster.workdir}/watch-cache", "get", "cm", "-n", ns, "-w",
         "--output-watch-events", "--request-timeout=20s"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        k(kubectl_version, "create", "configmap", "w2", "--from-literal=a=1", "-n", ns)
        k(kubectl_version, "delete", "configmap", "w1", "-n", ns)
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    events = [line.split()[:2] for line in out.splitlines() if line.strip()]
    assert ["ADDED", "w1"] in events
    assert ["ADDED", "w2"] in events
    assert ["DELETED", "w1"] in events


def test_explain_renders_field_documentation(cluster: Cluster, kubectl_version: str) -> None:
    out = cluster.kubectl(kubectl_version, "explain", "pods.spec.containers.image").stdout
    assert "image" in out.lower() and "FIELD" in out.upper()


def test_describe_shows_the_object(cluster: Cluster, kubectl_version: str, ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "run", "d", "--image=busybox", "--labels=app=d", "-n", ns)
    out = k(kubectl_version, "describe", "pod", "d", "-n", ns).stdout
    assert "Name:" in out and "busybox" in out and "app=d" in out


def test_invalid_objects_are_refused_with_each_bad_field(cluster: Cluster, kubectl_version: str,
                                                         ns: str) -> None:
    bad = """
apiVersion: v1
kind: Pod
metadata: {name: Bad_Name}
spec:
  containers:
  - name: c
  - name: c
    image: busybox
"""
    result = cluster.kubectl(kubectl_version, "create", "-n", ns, "-f", "-", stdin=bad,
                             check=False)
    assert result.returncode == 1
    assert "is invalid" in result.stderr
    assert "metadata.name" in result.stderr


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_delete_records_the_cascade_mode(cluster: Cluster, kubectl_version: str, ns: str,
                                         cascade: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=CONFIGMAP)
    result = k(kubectl_version, "delete", "cm", "settings", "-n", ns, f"--cascade={cascade}",
               "--wait=false")
    assert 'configmap "settings" deleted' in result.stdout
    left = json.loads(k(kubectl_version, "get", "cm", "-n", ns, "-o", "json").stdout)["items"]
    if cascade == "background":
        assert left == []
    else:
        # Foreground and Orphan are recorded as finalizers for the garbage collector.
        finalizer = {"foreground": "foregroundDeletion", "orphan": "orphan"}[cascade]
        assert left[0]["metadata"]["finalizers"] == [finalizer]
        assert left[0]["metadata"]["deletionTimestamp"]


def test_delete_waits_until_the_object_is_gone(cluster: Cluster, kubectl_version: str,
                                               ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=CONFIGMAP)
    k(kubectl_version, "delete", "cm", "settings", "-n", ns, "--timeout=30s")
    assert k(kubectl_version, "get", "cm", "-n", ns, "-o", "name").stdout.strip() == ""


def test_auth_whoami_names_the_certificate_user(cluster: Cluster, kubectl_version: str) -> None:
    out = cluster.kubectl(kubectl_version, "auth", "whoami").stdout
    assert "kubernetes-admin" in out and "system:masters" in out


def test_auth_can_i_answers_for_the_interim_policy(cluster: Cluster,
                                                   kubectl_version: str) -> None:
    assert cluster.kubectl(kubectl_version, "auth", "can-i", "create",
                           "pods").stdout.strip() == "yes"
    assert "*" in cluster.kubectl(kubectl_version, "auth", "can-i", "--list").stdout


MIXED = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: d, image: busybox}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: t, image: busybox}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: leader}
spec: {holderIdentity: me, leaseDurationSeconds: 15}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
"""


def test_many_kinds_from_one_file_and_get_all(cluster: Cluster, kubectl_version: str,
                                              ns: str) -> None:
    k = cluster.kubectl
    out = k(kubectl_version, "apply", "-n", ns, "-f", "-", stdin=MIXED).stdout
    for created in ("service/web", "daemonset.apps/agent", "statefulset.apps/db",
                    "cronjob.batch/tick", "lease.coordination.k8s.io/leader",
                    "role.rbac.authorization.k8s.io/reader"):
        assert f"{created} created" in out
    everything = k(kubectl_version, "get", "all", "-n", ns).stdout
    for shown in ("service/web", "daemonset.apps/agent", "statefulset.apps/db",
                  "cronjob.batch/tick"):
        assert shown in everything
    cron = k(kubectl_version, "get", "cronjobs", "-n", ns).stdout.splitlines()
    assert cron[0].split()[:3] == ["NAME", "SCHEDULE", "TIMEZONE"] or \
        cron[0].split()[:2] == ["NAME", "SCHEDULE"]
    assert k(kubectl_version, "get", "lease", "leader", "-n", ns, "-o",
             "jsonpath={.spec.holderIdentity}").stdout == "me"
    deleted = k(kubectl_version, "delete", "-n", ns, "-f", "-", stdin=MIXED).stdout
    assert deleted.count("deleted") == 6


def test_replace_and_delete_by_label(cluster: Cluster, kubectl_version: str, ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=CONFIGMAP)
    k(kubectl_version, "replace", "-n", ns, "-f", "-",
      stdin=CONFIGMAP.replace("color: blue", "color: green"))
    assert k(kubectl_version, "get", "cm", "settings", "-n", ns, "-o",
             "jsonpath={.data.color}").stdout == "green"
    assert 'configmap "settings" deleted' in k(kubectl_version, "delete", "cm", "-l", "app=web",
                                               "-n", ns).stdout


def test_raw_health_and_cluster_info(cluster: Cluster, kubectl_version: str) -> None:
    assert cluster.kubectl(kubectl_version, "get", "--raw", "/readyz").stdout == "ok"
    assert "is running at" in cluster.kubectl(kubectl_version, "cluster-info").stdout


NODE = """
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{node-role.kubernetes.io/worker: ""}}
status:
  conditions: [{{type: Ready, status: "True"}}]
"""


def test_cordon_and_drain_evict_pods_through_the_eviction_subresource(
        cluster: Cluster, kubectl_version: str, ns: str) -> None:
    k = cluster.kubectl
    node = f"node-{ns}"
    k(kubectl_version, "create", "-f", "-", stdin=NODE.format(name=node))
    for name in ("a", "b"):
        k(kubectl_version, "run", name, "--image=busybox", "-n", ns,
          f"--overrides={{\"spec\":{{\"nodeName\":\"{node}\"}}}}")
    assert "cordoned" in k(kubectl_version, "cordon", node).stdout
    nodes = k(kubectl_version, "get", "node", node).stdout
    assert "Ready,SchedulingDisabled" in nodes and "worker" in nodes
    out = k(kubectl_version, "drain", node, "--grace-period=0", "--timeout=30s", "--force",
            "--ignore-daemonsets").stdout
    assert "evicting pod" in out.lower() or "evicted" in out
    assert k(kubectl_version, "get", "pods", "-n", ns, "-o", "name").stdout.strip() == ""
    assert "uncordoned" in k(kubectl_version, "uncordon", node).stdout


def test_create_token_for_a_service_account(cluster: Cluster, kubectl_version: str,
                                            ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "create", "serviceaccount", "bot", "-n", ns)
    assert k(kubectl_version, "create", "token", "bot", "-n", ns).stdout.count(".") == 2


def test_edit_rollout_restart_and_describe_a_deployment(cluster: Cluster, kubectl_version: str,
                                                        ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "apply", "-n", ns, "-f", "-", stdin=DEPLOYMENT)
    editor = cluster.workdir / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/nginx:1.25/nginx:1.27/' \"$1\"\n")
    editor.chmod(0o755)
    edited = subprocess.run(
        [KUBECTL_VERSIONS[kubectl_version], f"--kubeconfig={cluster.kubeconfig}",
         f"--cache-dir={cluster.workdir}/edit-cache", "edit", "deploy/web", "-n", ns],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cluster.workdir), "EDITOR": str(editor)})
    assert edited.returncode == 0, edited.stderr
    assert "edited" in edited.stdout
    assert "restarted" in k(kubectl_version, "rollout", "restart", "deploy/web", "-n", ns).stdout
    obj = json.loads(k(kubectl_version, "get", "deploy", "web", "-n", ns, "-o", "json").stdout)
    template = obj["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    described = k(kubectl_version, "describe", "deploy", "web", "-n", ns).stdout
    assert "nginx:1.27" in described and "RollingUpdate" in described


def test_events_are_listed_and_shown_by_describe(cluster: Cluster, kubectl_version: str,
                                                 ns: str) -> None:
    k = cluster.kubectl
    k(kubectl_version, "run", "e", "--image=busybox", "-n", ns)
    uid = k(kubectl_version, "get", "pod", "e", "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e.1"},
             "involvedObject": {"kind": "Pod", "namespace": ns, "name": "e", "uid": uid},
             "reason": "Scheduled", "message": "assigned to node-1", "type": "Normal",
             "source": {"component": "default-scheduler"}, "count": 1,
             "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z"}
    k(kubectl_version, "create", "-n", ns, "-f", "-", stdin=json.dumps(event))
    table = k(kubectl_version, "get", "events", "-n", ns).stdout.splitlines()
    assert table[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"]
    assert "Scheduled" in table[1] and "pod/e" in table[1]
    assert "assigned to node-1" in k(kubectl_version, "describe", "pod", "e", "-n", ns).stdout


def test_server_dry_run_and_diff_change_nothing(cluster: Cluster, kubectl_version: str,
                                                ns: str) -> None:
    k = cluster.kubectl
    out = k(kubectl_version, "create", "-n", ns, "-f", "-", "--dry-run=server",
            stdin=CONFIGMAP).stdout
    assert "created (server dry run)" in out
    assert k(kubectl_version, "get", "cm", "-n", ns, "-o", "name").stdout.strip() == ""
    k(kubectl_version, "apply", "-n", ns, "-f", "-", stdin=CONFIGMAP)
    changed = CONFIGMAP.replace("color: blue", "color: purple")
    diff = k(kubectl_version, "diff", "-n", ns, "-f", "-", stdin=changed, check=False)
    assert diff.returncode == 1, diff.stderr  # 1 = differences found
    assert "+  color: purple" in diff.stdout and "-  color: blue" in diff.stdout
    assert k(kubectl_version, "get", "cm", "settings", "-n", ns, "-o",
             "jsonpath={.data.color}").stdout == "blue"
