"""A Pod using most of PodSpec, sent as protobuf by the real kubectl, decodes like Go prints it.

`kubectl debug POD --copy-to=NEW` reads the pod (JSON), copies its spec in Go structs and creates
the copy with the typed client, i.e. as protobuf — so kubectl is the encoder for an arbitrary,
rich PodSpec. The reference is the same Go code printing JSON: `kubectl set image --local -o json`
round-trips the pod file through the same Go types and encoding/json.
The decoded protobuf must equal that JSON except for what `debug` itself changes (the metadata
and the appended debug container). `kubectl create job --from=cronjob/NAME` does the same for a
whole JobSpec (failure and success policies, indexed completion, pointer fields set to zero).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from protobuf_capture_server import KUBECTL_133, Capture

from kubeadmpy.machinery.protobuf import PROTOBUF_CONTENT_TYPE, decode_k8s_protobuf

pytestmark = pytest.mark.skipif(not KUBECTL_133.exists(), reason="kubectl 1.33 is not installed")

PROBE_HTTP = {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTPS",
                          "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
              "initialDelaySeconds": 3, "periodSeconds": 5, "timeoutSeconds": 2,
              "successThreshold": 1, "failureThreshold": 4, "terminationGracePeriodSeconds": 0}

APP_CONTAINER: dict[str, Any] = {
    "name": "app", "image": "registry.example/app:1.2", "command": ["/app"],
    "args": ["--port=8443", ""], "workingDir": "/srv",
    "ports": [{"name": "http", "containerPort": 8443, "protocol": "TCP"},
              {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "127.0.0.1"}],
    "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg", "optional": True}},
                {"secretRef": {"name": "sec"}}],
    "env": [
        {"name": "PLAIN", "value": "x"},
        {"name": "EMPTY"},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                      "fieldPath": "status.podIP"}}},
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"containerName": "app",
                                                           "resource": "limits.cpu",
                                                           "divisor": "1m"}}},
        {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k",
                                                              "optional": False}}},
        {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}},
    ],
    "resources": {"limits": {"cpu": "500m", "memory": "256Mi", "nvidia.com/gpu": "1"},
                  "requests": {"cpu": "100m", "memory": "128Mi"}},
    "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
    "volumeMounts": [
        {"name": "data", "mountPath": "/data", "subPath": "app", "readOnly": True,
         "mountPropagation": "HostToContainer", "recursiveReadOnly": "IfPossible"},
        {"name": "cfg", "mountPath": "/etc/app", "subPathExpr": "$(POD_NAME)"},
    ],
    "volumeDevices": [{"name": "raw", "devicePath": "/dev/xvda"}],
    "livenessProbe": PROBE_HTTP,
    "readinessProbe": {"tcpSocket": {"port": 8443, "host": "localhost"}, "periodSeconds": 10},
    "startupProbe": {"grpc": {"port": 9090, "service": ""}, "failureThreshold": 30},
    "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "echo started"]}},
                  "preStop": {"sleep": {"seconds": 5}}},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "FallbackToLogsOnError",
    "imagePullPolicy": "IfNotPresent",
    "securityContext": {
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
        "privileged": False, "runAsUser": 0, "runAsGroup": 1000, "runAsNonRoot": False,
        "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
        "procMount": "Default",
        "seLinuxOptions": {"user": "u", "role": "r", "type": "t", "level": "s0:c1"},
        "seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/app.json"},
        "appArmorProfile": {"type": "RuntimeDefault"},
    },
    "stdin": True, "stdinOnce": True, "tty": True,
}

RICH_POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "rich", "namespace": "default", "labels": {"app": "rich"},
                 "annotations": {"note": "everything"}},
    "spec": {
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-pvc", "readOnly": True}},
            {"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 420, "optional": True,
                                          "items": [{"key": "k", "path": "k.conf",
                                                     "mode": 256}]}},
            {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "DirectoryOrCreate"}},
            {"name": "proj", "projected": {"defaultMode": 292, "sources": [
                {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600,
                                         "path": "token"}},
                {"downwardAPI": {"items": [{"path": "labels",
                                            "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"configMap": {"name": "ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"clusterTrustBundle": {"signerName": "example.com/signer", "path": "bundle.pem",
                                        "labelSelector": {"matchLabels": {"trust": "yes"}}}},
            ]}},
            {"name": "info", "downwardAPI": {"items": [
                {"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                     "resource": "requests.cpu",
                                                     "divisor": "1"}}]}},
            {"name": "csi", "csi": {"driver": "hostpath.csi.k8s.io", "readOnly": False,
                                    "fsType": "ext4", "volumeAttributes": {"size": "1Gi"},
                                    "nodePublishSecretRef": {"name": "csi-secret"}}},
            {"name": "eph", "ephemeral": {"volumeClaimTemplate": {
                "metadata": {"labels": {"eph": "yes"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                         "resources": {"requests": {"storage": "5Gi"}},
                         "volumeMode": "Filesystem"}}}},
            {"name": "nfs", "nfs": {"server": "nfs.example", "path": "/exports", "readOnly": True}},
            {"name": "img", "image": {"reference": "registry.example/data:1", "pullPolicy":
                                      "IfNotPresent"}},
            {"name": "raw", "persistentVolumeClaim": {"claimName": "raw-pvc"}},
        ],
        "initContainers": [
            {"name": "init", "image": "busybox", "command": ["true"], "resources": {}},
            {"name": "sidecar", "image": "envoy", "restartPolicy": "Always", "resources": {},
             "ports": [{"containerPort": 9901}]},
        ],
        "containers": [APP_CONTAINER],
        "restartPolicy": "OnFailure",
        "terminationGracePeriodSeconds": 0,
        "activeDeadlineSeconds": 600,
        "dnsPolicy": "None",
        "nodeSelector": {"kubernetes.io/os": "linux", "disk": "ssd"},
        "serviceAccountName": "builder",
        "automountServiceAccountToken": False,
        "nodeName": "node-1",
        "hostNetwork": True, "hostPID": True, "hostIPC": True,
        "shareProcessNamespace": False,
        "securityContext": {
            "runAsUser": 1000, "runAsGroup": 0, "runAsNonRoot": True, "fsGroup": 2000,
            "supplementalGroups": [3000, 4000], "supplementalGroupsPolicy": "Strict",
            "fsGroupChangePolicy": "OnRootMismatch",
            "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"}],
            "seccompProfile": {"type": "RuntimeDefault"},
            "seLinuxChangePolicy": "MountOption",
            "windowsOptions": {"hostProcess": False, "runAsUserName": "app"},
        },
        "imagePullSecrets": [{"name": "regcred"}],
        "hostname": "rich-host", "subdomain": "svc",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In",
                                           "values": ["a", "b"]}],
                     "matchFields": [{"key": "metadata.name", "operator": "NotIn",
                                      "values": ["bad"]}]}]},
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 10, "preference": {"matchExpressions": [
                        {"key": "gpu", "operator": "Exists"}]}}],
            },
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone",
                 "namespaces": ["data"], "namespaceSelector": {},
                 "matchLabelKeys": ["pod-template-hash"]}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "podAffinityTerm": {
                    "labelSelector": {"matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["rich"]}]},
                    "topologyKey": "kubernetes.io/hostname"}}]},
        },
        "schedulerName": "custom-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 0},
            {"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"},
        ],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db.local", "cache.local"]}],
        "priorityClassName": "high",
        "priority": 0,
        "dnsConfig": {"nameservers": ["10.96.0.10"], "searches": ["svc.local"],
                      "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
        "readinessGates": [{"conditionType": "example.com/ready"}],
        "runtimeClassName": "gvisor",
        "enableServiceLinks": False,
        "preemptionPolicy": "Never",
        "overhead": {"cpu": "250m", "memory": "120Mi"},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": "rich"}}, "minDomains": 2,
             "nodeAffinityPolicy": "Honor", "nodeTaintsPolicy": "Ignore",
             "matchLabelKeys": ["pod-template-hash"]}],
        "setHostnameAsFQDN": True,
        "os": {"name": "linux"},
        "hostUsers": False,
        "schedulingGates": [{"name": "example.com/wait"}],
        "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "gpu-template"}],
        "resources": {"limits": {"cpu": "2", "memory": "2Gi"}},
    },
}

def dropped_fields(sent: Any, printed: Any, path: str = "spec") -> list[str]:
    """Paths set in `sent` that Go's types did not keep (a typo would make the test weaker)."""
    if isinstance(sent, dict):
        return [p for key, value in sent.items()
                for p in ([f"{path}.{key}"] if key not in printed
                          else dropped_fields(value, printed[key], f"{path}.{key}"))]
    if isinstance(sent, list):
        return [p for i, (a, b) in enumerate(zip(sent, printed, strict=True))
                for p in dropped_fields(a, b, f"{path}[{i}]")]
    return []


KEEP_EVERYTHING = ["--keep-labels", "--keep-annotations", "--keep-liveness", "--keep-readiness",
                   "--keep-startup", "--keep-init-containers", "--same-node",
                   "--share-processes=false"]


async def test_a_rich_pod_copied_by_kubectl_debug_decodes_like_go_prints_it(
    capture: Capture,
) -> None:
    pod_file = capture.workdir / "rich.json"
    pod_file.write_text(json.dumps(RICH_POD))
    # set image prints nothing when nothing changes: change the image, then put it back.
    go_printed = await capture.kubectl(KUBECTL_133, "set", "image", "-f", str(pod_file),
                                       "--local", "-o", "json", "app=changed")
    assert go_printed.returncode == 0, go_printed.stderr
    expected = json.loads(go_printed.stdout)
    expected["spec"]["containers"][0]["image"] = APP_CONTAINER["image"]

    capture.server.objects["/api/v1/namespaces/default/pods/rich"] = RICH_POD
    result = await capture.kubectl(KUBECTL_133, "debug", "rich", "--copy-to=rich-copy",
                                   "--image=busybox", "--container=dbg", "--profile=general",
                                   *KEEP_EVERYTHING)
    assert result.returncode == 0, result.stderr
    posts = [w for w in capture.server.writes() if w.method == "POST"]
    assert len(posts) == 1
    assert posts[0].content_type == PROTOBUF_CONTENT_TYPE
    sent = decode_k8s_protobuf(posts[0].body)

    debug_container = sent["spec"]["containers"].pop()
    assert debug_container["name"] == "dbg"
    assert sent["metadata"] == {"name": "rich-copy", "namespace": "default",
                                "labels": {"app": "rich"}, "annotations": {"note": "everything"},
                                "creationTimestamp": None}
    assert sent["spec"] == expected["spec"]
    assert json.dumps(sent["spec"]) == json.dumps(expected["spec"])  # Go's key order too
    # The reference really is Go-normalised, and kept every field the test sets.
    assert dropped_fields(RICH_POD["spec"], expected["spec"]) == []
    assert expected["spec"]["containers"][0]["securityContext"]["runAsUser"] == 0
    assert sent["spec"]["terminationGracePeriodSeconds"] == 0
    assert sent["spec"]["automountServiceAccountToken"] is False


CRON_JOB: dict[str, Any] = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "nightly", "namespace": "default", "uid": "cj-uid"},
    "spec": {"schedule": "0 3 * * *", "jobTemplate": {
        "metadata": {"labels": {"job": "nightly"}, "annotations": {"a": "b"}},
        "spec": {
            "parallelism": 2, "completions": 4, "activeDeadlineSeconds": 3600, "backoffLimit": 0,
            "backoffLimitPerIndex": 1, "maxFailedIndexes": 2, "completionMode": "Indexed",
            "suspend": False, "ttlSecondsAfterFinished": 0, "podReplacementPolicy": "Failed",
            "manualSelector": False,
            "podFailurePolicy": {"rules": [
                {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                                      "values": [42, 43]}},
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget",
                                                          "status": "True"}]}]},
            "successPolicy": {"rules": [{"succeededIndexes": "0-1", "succeededCount": 1}]},
            "template": {"metadata": {"labels": {"job": "nightly"}},
                         "spec": {"restartPolicy": "Never", "containers": [
                             {"name": "main", "image": "busybox", "command": ["sh", "-c", "true"],
                              "resources": {"requests": {"cpu": "1"}}}]}},
        },
    }},
}


async def test_a_job_created_from_a_cron_job_decodes_like_go_prints_the_job_template(
    capture: Capture,
) -> None:
    cron_file = capture.workdir / "cron.json"
    cron_file.write_text(json.dumps(CRON_JOB))
    go_printed = await capture.kubectl(KUBECTL_133, "set", "image", "-f", str(cron_file),
                                       "--local", "-o", "json", "main=changed")
    assert go_printed.returncode == 0, go_printed.stderr
    expected = json.loads(go_printed.stdout)["spec"]["jobTemplate"]["spec"]
    expected["template"]["spec"]["containers"][0]["image"] = "busybox"

    capture.server.objects["/apis/batch/v1/namespaces/default/cronjobs/nightly"] = CRON_JOB
    result = await capture.kubectl(KUBECTL_133, "create", "job", "manual-run",
                                   "--from=cronjob/nightly")
    assert result.returncode == 0, result.stderr
    posts = [w for w in capture.server.writes() if w.method == "POST"]
    assert [p.content_type for p in posts] == [PROTOBUF_CONTENT_TYPE]
    sent = decode_k8s_protobuf(posts[0].body)

    assert sent["spec"] == expected
    assert json.dumps(sent["spec"]) == json.dumps(expected)
    assert sent["metadata"]["ownerReferences"] == [
        {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "cj-uid",
         "controller": True}]
    assert sent["spec"]["manualSelector"] is False
    assert sent["spec"]["backoffLimit"] == 0
