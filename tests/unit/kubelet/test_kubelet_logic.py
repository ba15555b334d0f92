"""Pure parts of the kubelet: back-off, QoS and CRI resources, pod phase and conditions,
environment expansion, static pod identity, atomic volume writes and settings parsing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kubeadmpy.client import FakeClock
from kubeadmpy.config import KUBERNETES_VERSION
from kubeadmpy.errors import ConfigError
from kubeadmpy.kubelet import podutil, staticpods
from kubeadmpy.kubelet.backoff import Backoff
from kubeadmpy.kubelet.env import container_env, expand
from kubeadmpy.kubelet.settings import parse_command_line, parse_taints, read_flags_env
from kubeadmpy.kubelet.status import pod_conditions, pod_phase
from kubeadmpy.kubelet.volumes import VolumeError, check_host_path, write_atomically
from kubeadmpy.kubelet.worker import _duration

JSONObject = dict[str, Any]


def test_crash_back_off_doubles_from_10s_to_a_300s_cap_and_resets_after_10_minutes() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, 10, 300)
    delays = []
    for _ in range(7):
        delays.append(backoff.next("pod/c", clock.now()))
        clock.advance(1)
    assert delays == [10, 20, 40, 80, 160, 300, 300]
    clock.advance(601)
    assert backoff.next("pod/c", clock.now()) == 10


def test_a_container_is_in_back_off_only_until_its_delay_has_passed() -> None:
    clock = FakeClock()
    backoff = Backoff(clock, 10, 300)
    finished = clock.now()
    assert not backoff.in_backoff_since("k", finished)  # first failure: restart at once
    backoff.next("k", finished)
    assert backoff.in_backoff_since("k", finished)
    clock.advance(9.9)
    assert backoff.in_backoff_since("k", finished)
    clock.advance(0.2)
    assert not backoff.in_backoff_since("k", finished)


@pytest.mark.parametrize(("seconds", "text"), [(10, "10s"), (80, "1m20s"), (300, "5m0s")],
                         ids=["seconds", "minutes and seconds", "whole minutes"])
def test_back_off_durations_read_like_go(seconds: float, text: str) -> None:
    assert _duration(seconds) == text


def pod(containers: list[JSONObject], **spec: Any) -> JSONObject:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1",
                         "labels": {"app": "web"}},
            "spec": {"containers": containers, "nodeName": "n1", **spec}}


@pytest.mark.parametrize(("resources", "qos"), [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
     "Guaranteed"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
     "Burstable"),
], ids=["nothing set is best effort", "a request alone is burstable",
        "equal requests and limits are guaranteed", "a smaller request is burstable"])
def test_qos_class_follows_requests_and_limits(resources: JSONObject, qos: str) -> None:
    assert podutil.qos_class(pod([{"name": "c", "resources": resources}])) == qos


def test_limits_become_cgroup_values_and_qos_sets_oom_score_adj() -> None:
    container = {"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"},
                                            "limits": {"cpu": "500m", "memory": "2Gi"}}}
    resources = podutil.linux_resources(pod([container]), container, 8 * 2**30)
    assert (resources.cpu_shares, resources.cpu_quota, resources.cpu_period) == (
        256, 50000, 100000)
    assert resources.memory_limit_in_bytes == 2 * 2**30
    assert resources.oom_score_adj == 875  # 1000 - 1000 * 1Gi / 8Gi
    guaranteed = {"name": "g", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                             "requests": {"cpu": "1", "memory": "1Gi"}}}
    assert podutil.linux_resources(pod([guaranteed]), guaranteed, 2**33).oom_score_adj == -997
    best = {"name": "b"}
    assert podutil.linux_resources(pod([best]), best, 2**33).oom_score_adj == 1000
    assert podutil.linux_resources(pod([best]), best, 2**33).cpu_shares == 2


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", "Always"), ("busybox:latest", "Always"), ("busybox:1.36", "IfNotPresent"),
    ("registry:5000/busybox", "Always"), ("busybox@sha256:abc", "IfNotPresent")],
    ids=["no tag", "latest", "a tag", "registry port is not a tag", "a digest"])
def test_the_default_pull_policy_depends_on_the_tag(image: str, policy: str) -> None:
    assert podutil.image_pull_policy({"image": image}) == policy


def status(name: str, state: JSONObject, ready: bool = False,
           last: JSONObject | None = None) -> JSONObject:
    return {"name": name, "state": state, "ready": ready, "lastState": last or {}}


RUNNING = {"running": {"startedAt": "x"}}
OK = {"terminated": {"exitCode": 0}}
FAILED = {"terminated": {"exitCode": 1}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}
BACKOFF = {"waiting": {"reason": "CrashLoopBackOff"}}


@pytest.mark.parametrize(("policy", "init", "regular", "phase"), [
    ("Always", [], [status("a", WAITING)], "Pending"),
    ("Always", [], [status("a", RUNNING)], "Running"),
    ("Always", [], [status("a", BACKOFF, last=FAILED)], "Running"),
    ("Never", [], [status("a", OK)], "Succeeded"),
    ("Never", [], [status("a", OK), status("b", FAILED)], "Failed"),
    ("OnFailure", [], [status("a", FAILED)], "Running"),
    ("Always", [status("i", RUNNING)], [status("a", WAITING)], "Pending"),
    ("Never", [status("i", FAILED)], [status("a", WAITING)], "Failed"),
], ids=["waiting is pending", "running", "crash looping stays running",
        "all succeeded", "one failed under Never", "failure restarts under OnFailure",
        "init container still running", "init container failed under Never"])
def test_pod_phase(policy: str, init: list[JSONObject], regular: list[JSONObject],
                   phase: str) -> None:
    assert pod_phase(pod([], restartPolicy=policy), init, regular) == phase


def test_conditions_name_the_unready_containers() -> None:
    conditions = {c["type"]: c for c in pod_conditions(
        pod([]), "Running", True, [], [status("a", RUNNING, ready=True),
                                       status("b", RUNNING)])}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "ContainersNotReady"
    assert conditions["Ready"]["message"] == "containers with unready status: [b]"
    assert conditions["Initialized"]["status"] == "True"
    assert conditions["PodReadyToStartContainers"]["status"] == "True"


def test_dollar_references_expand_defined_variables_only() -> None:
    variables = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)-$(C)-$$(A)", variables) == "1-two-$(C)-$(A)"


async def test_environment_from_config_maps_secrets_and_the_pod() -> None:
    objects = {("configmaps", "cm"): {"data": {"k": "v", "other": "o"}},
               ("secrets", "s"): {"data": {"pw": "cHc="}}}

    async def getter(kind: str, namespace: str, name: str) -> JSONObject | None:
        return objects.get((kind, name))
    container = {"name": "c", "resources": {"limits": {"memory": "64Mi"}},
                 "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "P_"}],
                 "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cm",
                                                                          "key": "k"}}},
                         {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s",
                                                                        "key": "pw"}}},
                         {"name": "IP", "valueFrom": {"fieldRef": {
                             "fieldPath": "status.podIP"}}},
                         {"name": "APP", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.labels['app']"}}},
                         {"name": "MEM", "valueFrom": {"resourceFieldRef": {
                             "resource": "limits.memory", "divisor": "1Mi"}}},
                         {"name": "OPT", "valueFrom": {"configMapKeyRef": {
                             "name": "missing", "key": "x", "optional": True}}},
                         {"name": "URL", "value": "http://$(IP):80"}]}
    env = dict(await container_env(pod([container]), container, getter, pod_ip="10.0.0.5",
                                   host_ip="192.168.0.1", node_allocatable={}))
    assert env == {"P_k": "v", "P_other": "o", "K": "v", "PW": "pw", "IP": "10.0.0.5",
                   "APP": "web", "MEM": "64", "URL": "http://10.0.0.5:80"}


async def test_a_missing_config_map_key_is_reported_like_upstream() -> None:
    async def getter(kind: str, namespace: str, name: str) -> JSONObject | None:
        return {"data": {}}
    container = {"name": "c", "env": [{"name": "K", "valueFrom": {"configMapKeyRef": {
        "name": "cm", "key": "k"}}}]}
    from kubeadmpy.kubelet.env import EnvError
    with pytest.raises(EnvError, match="couldn't find key k in ConfigMap ns/cm"):
        await container_env(pod([container]), container, getter, pod_ip="", host_ip="",
                            node_allocatable={})


def test_a_static_pod_is_named_after_the_node_and_its_uid_follows_its_content() -> None:
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "etcd",
                                                                "namespace": "kube-system"},
                "spec": {"containers": [{"name": "etcd", "image": "x"}]}}
    first = staticpods.static_pod(manifest, "cp1", "/etc/kubernetes/manifests/etcd.yaml")
    again = staticpods.static_pod(manifest, "cp1", "/etc/kubernetes/manifests/etcd.yaml")
    changed = staticpods.static_pod({**manifest, "spec": {"containers": [
        {"name": "etcd", "image": "y"}]}}, "cp1", "/etc/kubernetes/manifests/etcd.yaml")
    assert first["metadata"]["name"] == "etcd-cp1"
    assert first["spec"]["nodeName"] == "cp1"
    assert first["metadata"]["uid"] == again["metadata"]["uid"] != changed["metadata"]["uid"]
    assert first["metadata"]["annotations"]["kubernetes.io/config.hash"] == \
        first["metadata"]["uid"]
    mirror = staticpods.mirror_pod(first, "node-uid")
    assert mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"] == \
        first["metadata"]["uid"]
    assert "uid" not in mirror["metadata"]
    assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"


def test_a_static_pod_directory_reports_added_and_removed_manifests(tmp_path: Path) -> None:
    directory = staticpods.StaticPodDirectory(tmp_path, "n1")
    assert not directory.scan()
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
                                     "spec: {containers: [{name: c, image: x}]}\n")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "bad.yaml").write_text("kind: Service\n")
    assert directory.scan()
    assert [p["metadata"]["name"] for p in directory.pods.values()] == ["a-n1"]
    (tmp_path / "a.yaml").unlink()
    assert directory.scan()
    assert directory.pods == {}


def test_atomic_writes_swap_the_whole_set_and_drop_removed_keys(tmp_path: Path) -> None:
    assert write_atomically(tmp_path, {"a": (b"1", 0o644), "dir/b": (b"2", 0o400)})
    assert (tmp_path / "a").read_bytes() == b"1"
    assert (tmp_path / "dir" / "b").read_bytes() == b"2"
    assert os.readlink(tmp_path / "a") == "..data/a"
    assert not write_atomically(tmp_path, {"a": (b"1", 0o644), "dir/b": (b"2", 0o400)})
    first_target = os.readlink(tmp_path / "..data")
    assert write_atomically(tmp_path, {"a": (b"changed", 0o644)})
    assert (tmp_path / "a").read_bytes() == b"changed"
    assert not (tmp_path / "dir").exists()
    assert not (tmp_path / first_target).exists()


@pytest.mark.parametrize(("kind", "make", "ok"), [
    ("Directory", "dir", True), ("Directory", "file", False), ("File", "file", True),
    ("File", "none", False), ("DirectoryOrCreate", "none", True),
    ("FileOrCreate", "none", True), ("", "none", True)],
    ids=["a directory is a directory", "a file is not a directory", "a file is a file",
         "a missing file fails", "a missing directory is created",
         "a missing file is created", "no type checks nothing"])
def test_host_path_types_are_checked(tmp_path: Path, kind: str, make: str, ok: bool) -> None:
    path = tmp_path / "target"
    if make == "dir":
        path.mkdir()
    elif make == "file":
        path.write_text("")
    if ok:
        check_host_path(path, kind)
    else:
        with pytest.raises(VolumeError, match="hostPath type check failed"):
            check_host_path(path, kind)


def test_flags_env_files_are_read_as_the_systemd_drop_in_passes_them(tmp_path: Path) -> None:
    env = tmp_path / "kubeadm-flags.env"
    env.write_text('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/c.sock '
                   '--hostname-override=worker-1 --register-with-taints=a=b:NoSchedule"\n')
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                      "staticPodPath: /etc/kubernetes/manifests\nsyncFrequency: 1m0s\n"
                      "clusterDNS: [10.96.0.10]\nclusterDomain: cluster.local\n"
                      "someFutureField: 1\n")
    assert read_flags_env(env)[0] == "--container-runtime-endpoint=unix:///run/c.sock"
    command = parse_command_line([f"--config={config}", f"--flags-env-file={env}",
                                  "--node-ip=10.0.0.7"])
    settings = command.settings
    assert settings.container_runtime_endpoint == "unix:///run/c.sock"
    assert settings.node_name == "worker-1"
    assert settings.register_with_taints == ({"key": "a", "value": "b",
                                              "effect": "NoSchedule"},)
    assert settings.static_pod_path == "/etc/kubernetes/manifests"
    assert settings.sync_frequency_seconds == 60
    assert settings.cluster_dns == ("10.96.0.10",)
    assert settings.node_ip == "10.0.0.7"


@pytest.mark.parametrize(("text", "field"), [
    ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
     "syncFrequency: soon\n", "KubeletConfiguration.syncFrequency"),
    ("apiVersion: v1\nkind: KubeletConfiguration\n", "apiVersion"),
    ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
     "cgroupDriver: docker\n", "KubeletConfiguration.cgroupDriver")],
    ids=["a bad duration", "a wrong apiVersion", "an unknown cgroup driver"])
def test_bad_configuration_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_command_line([f"--config={config}"])
    assert caught.value.field == field
    assert str(config) in str(caught.value)


@pytest.mark.parametrize("flag", ["--node-ip=not-an-ip", "--register-with-taints=a=b"],
                         ids=["a bad node IP", "a taint without effect"])
def test_bad_flags_are_refused_with_the_flag_named(flag: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_command_line([flag])
    assert caught.value.field == flag.split("=", 1)[0]


def test_taints_parse_with_and_without_values() -> None:
    assert parse_taints("a=b:NoSchedule,c:NoExecute") == (
        {"key": "a", "value": "b", "effect": "NoSchedule"}, {"key": "c", "effect": "NoExecute"})


def test_the_command_refuses_a_bad_flag_with_a_message_and_no_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.kubelet.main import main
    assert main(["--node-ip=bad"]) == 1
    err = capsys.readouterr().err
    assert "--node-ip: 'bad' is not an IP address" in err
    assert "Traceback" not in err


def test_the_command_names_a_missing_kubeconfig(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    from kubeadmpy.kubelet.main import main
    missing = tmp_path / "kubelet.conf"
    assert main([f"--kubeconfig={missing}", f"--root-dir={tmp_path}"]) == 1
    assert str(missing) in caplog.text


@pytest.mark.parametrize(("driver", "resources", "parent"), [
    ("cgroupfs", {}, ""),
    ("systemd", {}, "kubepods-besteffort-poda_b.slice"),
    ("systemd", {"requests": {"cpu": "1"}}, "kubepods-burstable-poda_b.slice"),
    ("systemd", {"requests": {"cpu": "1", "memory": "1Gi"},
                 "limits": {"cpu": "1", "memory": "1Gi"}}, "kubepods-poda_b.slice")],
    ids=["cgroupfs leaves it to the runtime", "systemd best effort", "systemd burstable",
         "systemd guaranteed"])
def test_the_pod_cgroup_parent_follows_the_driver_and_qos(driver: str, resources: JSONObject,
                                                          parent: str) -> None:
    subject = pod([{"name": "c", "resources": resources}])
    subject["metadata"]["uid"] = "a-b"
    assert podutil.cgroup_parent(subject, driver) == parent


def test_the_files_kubeadmpy_init_renders_are_what_the_kubelet_reads(tmp_path: Path) -> None:
    from kubeadmpy.render import KubeletValues, render_kubelet
    from kubeadmpy.render.kubelet import parse_kubelet_flags_env
    files = render_kubelet(KubeletValues(
        flavor="python", node_name="cp-1", hostname="other", cgroup_driver="cgroupfs",
        pod_infra_container_image="kubeadmpy.local/pause:3.10",
        register_with_taints=()))
    written = {}
    for logical, rendered in files.items():
        path = tmp_path / logical.name
        path.write_text(rendered.content)
        written[logical.name] = path
    flags = parse_kubelet_flags_env(written["kubeadm-flags.env"].read_text())
    # The command line the systemd drop-in (and init's supervisor) runs.
    command = parse_command_line([
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf", f"--config={written['config.yaml']}",
        *flags])
    settings = command.settings
    assert settings.node_name == "cp-1"
    assert settings.static_pod_path == "/etc/kubernetes/manifests"
    assert settings.container_runtime_endpoint == "unix:///var/run/containerd/containerd.sock"
    assert settings.pod_infra_container_image == "kubeadmpy.local/pause:3.10"
    assert settings.cluster_dns == ("10.96.0.10",)
    assert (settings.healthz_bind_address, settings.healthz_port) == ("127.0.0.1", 10248)
    assert settings.authentication["x509"]["clientCAFile"] == "/etc/kubernetes/pki/ca.crt"
    assert settings.kubeconfig == "/etc/kubernetes/kubelet.conf"


def test_container_status_shows_crash_loop_with_the_last_termination() -> None:
    from kubeadmpy.cri import api
    from kubeadmpy.kubelet.status import Waiting, container_status
    exited = api.ContainerStatus(id="abc", state=api.CONTAINER_EXITED, exit_code=2,
                                 started_at=1_700_000_000_000_000_000,
                                 finished_at=1_700_000_001_000_000_000, image_ref="sha256:1")
    entry = container_status({"name": "c", "image": "busybox:1"}, exited, None, 3,
                             Waiting("CrashLoopBackOff", "back-off 40s restarting failed"),
                             ready=True, started=True)
    assert entry["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 40s restarting failed"}}
    assert entry["lastState"]["terminated"] == {
        "exitCode": 2, "reason": "Error", "startedAt": "2023-11-14T22:13:20Z",
        "finishedAt": "2023-11-14T22:13:21Z", "containerID": "containerd://abc"}
    assert (entry["restartCount"], entry["ready"], entry["started"]) == (3, False, False)
    assert entry["imageID"] == "sha256:1"


def test_node_status_reports_ready_or_the_runtime_problem() -> None:
    from kubeadmpy.kubelet.node import MachineFacts, node_status
    from kubeadmpy.kubelet.settings import KubeletSettings
    settings = KubeletSettings(hostname_override="n1", max_pods=50)
    facts = MachineFacts(cpus=2, memory_bytes=4 * 2**30, storage_bytes=100 * 2**30,
                         host_ip="192.168.56.10", hostname="n1")
    ready = node_status(settings, facts, "containerd://1.6.20", "", "2026-01-01T00:00:00Z")
    conditions = {c["type"]: (c["status"], c["reason"]) for c in ready["conditions"]}
    assert conditions["Ready"] == ("True", "KubeletReady")
    assert ready["capacity"]["memory"] == f"{4 * 2**20}Ki"
    assert ready["allocatable"]["memory"] == f"{4 * 2**20 - 100 * 1024}Ki"  # minus 100Mi
    assert ready["capacity"]["pods"] == "50"
    assert ready["nodeInfo"]["kubeletVersion"] == KUBERNETES_VERSION  # the release deployed
    problem = "container runtime network not ready: NetworkReady=false reason:NoCNI message:"
    not_ready = node_status(settings, facts, "", problem, "2026-01-01T00:00:00Z")
    ready_condition = next(c for c in not_ready["conditions"] if c["type"] == "Ready")
    assert (ready_condition["status"], ready_condition["reason"]) == ("False",
                                                                      "KubeletNotReady")
    assert ready_condition["message"] == problem


def test_container_config_carries_labels_expansion_and_mounts() -> None:
    from kubeadmpy.kubelet.containers import container_config
    spec = {"name": "c", "image": "busybox:1", "command": ["echo", "$(GREETING)"],
            "args": ["$(MISSING)"],
            "volumeMounts": [{"name": "data", "mountPath": "/data", "subPath": "$(DIR)"},
                             {"name": "cfg", "mountPath": "/cfg"}]}
    config = container_config(pod([spec]), spec, [("GREETING", "hi"), ("DIR", "sub")], 2,
                              {"data": ("/var/lib/kubelet/pods/u1/data", False),
                               "cfg": ("/var/lib/kubelet/pods/u1/cfg", True)}, False, 2**30)
    assert list(config.command) == ["echo", "hi"]
    assert list(config.args) == ["$(MISSING)"]
    assert [(m.container_path, m.host_path, m.readonly) for m in config.mounts] == [
        ("/data", "/var/lib/kubelet/pods/u1/data/sub", False),
        ("/cfg", "/var/lib/kubelet/pods/u1/cfg", True)]
    assert config.labels["io.kubernetes.pod.uid"] == "u1"
    assert config.labels["io.kubernetes.container.name"] == "c"
    assert config.annotations["io.kubernetes.container.restartCount"] == "2"
    assert (config.metadata.attempt, config.log_path) == (2, "c/2.log")


@pytest.mark.parametrize("sub_path", ["../escape", "/absolute", "a/../../b"],
                         ids=["parent", "absolute", "parent inside"])
def test_a_sub_path_may_not_leave_its_volume(sub_path: str) -> None:
    from kubeadmpy.kubelet.containers import container_mounts
    spec = {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/m",
                                           "subPath": sub_path}]}
    with pytest.raises(VolumeError, match="must be a relative path inside the volume"):
        container_mounts(spec, {"v": ("/host", False)}, {})


_HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


@pytest.mark.parametrize(("text", "field", "words"), [
    (_HEADER + "maxPods: many\n", "KubeletConfiguration.maxPods", "not an integer"),
    (_HEADER + "port: true\n", "KubeletConfiguration.port", "not an integer"),
    (_HEADER + "registerNode: 'yes'\n", "KubeletConfiguration.registerNode", "true or false"),
    (_HEADER + "clusterDNS: 10.96.0.10\n", "KubeletConfiguration.clusterDNS", "list of strings"),
    (_HEADER + "authentication: [x]\n", "KubeletConfiguration.authentication", "not a mapping"),
    (_HEADER + "staticPodPath: 5\n", "KubeletConfiguration.staticPodPath", "not a string"),
    ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Pod\n", "kind", "not supported")],
    ids=["a word for maxPods", "a boolean port", "a quoted boolean", "one DNS address not a list",
         "a list for a mapping", "a number for a path", "a wrong kind"])
def test_a_config_field_of_the_wrong_type_is_refused_by_name(
        tmp_path: Path, text: str, field: str, words: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_command_line([f"--config={config}"])
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(config) in str(caught.value)


@pytest.mark.parametrize(("text", "words"), [
    (None, "cannot read"), ("a: [unclosed\n", "is not YAML"), ("- a\n- b\n", "mapping")],
    ids=["a missing file", "broken YAML", "a list document"])
def test_an_unusable_config_file_is_refused_as_the_config_flag(
        tmp_path: Path, text: str | None, words: str) -> None:
    config = tmp_path / "config.yaml"
    if text is not None:
        config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_command_line([f"--config={config}"])
    assert caught.value.field == "--config"
    assert words in str(caught.value)
    assert str(config) in str(caught.value)


@pytest.mark.parametrize("taints", ["a=b:NoWhere", ":NoSchedule", "a=b:NoSchedule,c"],
                         ids=["an unknown effect", "no key", "one bad taint of two"])
def test_a_bad_taint_is_quoted_in_the_error(taints: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_taints(taints)
    assert caught.value.field == "--register-with-taints"


@pytest.mark.parametrize("argv", [["--v=loud"], ["--no-such-flag"]],
                         ids=["a non-numeric verbosity", "an unknown flag"])
def test_the_command_refuses_unparsable_flags_with_usage_and_exit_2(
        argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.kubelet.main import main
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "usage: kubeadmpy-kubelet" in err
    assert "Traceback" not in err


def test_the_command_names_a_missing_config_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubeadmpy.kubelet.main import main
    missing = tmp_path / "config.yaml"
    assert main([f"--config={missing}"]) == 1
    err = capsys.readouterr().err
    assert f"--config: cannot read {missing}" in err
    assert "Traceback" not in err
