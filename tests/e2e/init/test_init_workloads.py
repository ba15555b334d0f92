"""`kubeadmpy init` in a lab machine gives a working cluster; the real kubectl runs workloads on it.

All tests share one initialised machine (see conftest.py); each cleans up the objects it made.
"""

from __future__ import annotations

import json
import uuid

from init_e2e import STATIC_PODS, Cluster, container_id, running_phase, wait_for


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def test_init_reports_every_phase_with_its_time_and_the_join_command(cluster: Cluster) -> None:
    out = cluster.init_output
    for phase in ("preflight", "certs", "containerd", "kubelet-start", "wait-control-plane",
                  "upload-config", "mark-control-plane", "pod-network", "bootstrap-token",
                  "show-join-command"):
        assert f"[done] {phase} in " in out, phase
    assert "Your Kubernetes control-plane has initialized successfully!" in out
    assert f"kubeadmpy join {cluster.node.ip}:6443 --token " in out
    assert "[init] finished in " in out


def test_the_node_is_ready_and_runs_the_control_plane_as_static_pods(cluster: Cluster) -> None:
    node = cluster.node
    assert node.node_ready()
    cidr = node.get("node", node.name)["spec"]["podCIDR"]
    written = json.loads(node.sh("cat /etc/cni/net.d/10-flannel.conflist", check=True).stdout)
    assert [p["type"] for p in written["plugins"]] == ["flannel", "portmap"]
    # flanneld (the kube-flannel DaemonSet) hands the CNI plugin this node's podCIDR.
    subnet_env = wait_for("flanneld's subnet.env", lambda: node.sh(
        "cat /run/flannel/subnet.env").stdout)
    assert f"FLANNEL_SUBNET={cidr.rsplit('.', 1)[0]}.1/" in subnet_env
    for component in STATIC_PODS:
        pod = wait_for(f"{component} Running", lambda c=component: (
            p if running_phase(p := node.pod(f"{c}-{node.name}", "kube-system")) else None))
        assert pod["metadata"]["annotations"]["kubernetes.io/config.source"] == "file"
    # The oldest supported kubectl sees the same cluster.
    names = node.kubectl("get", "nodes", "-o", "name",
                         kubectl="/usr/lib/google-cloud-sdk/bin/kubectl.1.27").stdout
    assert names.strip() == f"node/{node.name}"


def test_containerd_and_the_kubelet_run_inside_the_machine(cluster: Cluster) -> None:
    node = cluster.node
    for name in ("containerd", "kubelet"):
        same = node.sh(
            f"pid=$(cat /run/kubeadmpy/{name}.pid); for ns in net mnt uts; do "
            f'[ "$(readlink /proc/$pid/ns/$ns)" = "$(readlink /proc/$$/ns/$ns)" ] || echo $ns; '
            "done", check=True)
        assert same.stdout.strip() == "", f"{name} is not in the machine's {same.stdout}"
    # Its state is the machine's own: the socket lives in the machine's private /run.
    assert node.sh("test -S /run/containerd/containerd.sock").exit_code == 0
    host_mounts = node.sh("cat /proc/1/mountinfo", check=True).stdout
    assert host_mounts != node.sh("cat /proc/self/mountinfo", check=True).stdout


def test_a_deployment_is_created_exposed_logged_and_deleted(cluster: Cluster) -> None:
    node, name = cluster.node, unique("web")
    # sh stays PID 1 with a TERM trap, so deleting the pods does not wait out the grace period.
    serve = ("trap 'exit 0' TERM; echo serving from $(hostname); "
             "httpd -f -p 8080 -h /etc & wait")
    node.kubectl("create", "deployment", name, f"--image={cluster.busybox}", "--replicas=2",
                 "--", "sh", "-c", serve)
    try:
        node.kubectl("rollout", "status", f"deployment/{name}", "--timeout=90s")
        pods = node.pods(f"app={name}")
        assert len(pods) == 2 and all(running_phase(p) for p in pods)
        node.kubectl("expose", "deployment", name, "--port=80", "--target-port=8080")
        pod_ips = {p["status"]["podIP"] for p in pods}

        def endpoint_ips() -> set[str]:
            found = node.kubectl("get", "endpoints", name, "-o", "json", check=False)
            if found.exit_code != 0:  # the endpoints controller has not written it yet
                return set()
            return {a["ip"] for s in json.loads(found.stdout).get("subsets") or []
                    for a in s.get("addresses") or []}

        assert wait_for("the service's endpoints", lambda: endpoint_ips() == pod_ips)
        # The pod network: the node reaches each pod on its podCIDR address.
        for ip in pod_ips:
            page = node.sh(f"wget -qO- http://{ip}:8080/hostname", check=True).stdout
            assert page.strip().startswith(name)
        logs = node.kubectl("logs", f"deployment/{name}").stdout
        assert "serving from " + name in logs
    finally:
        node.kubectl("delete", "service", name, "--ignore-not-found")
        node.kubectl("delete", "deployment", name, "--ignore-not-found")
    wait_for("the deployment's pods to be gone", lambda: not node.pods(f"app={name}"))


def test_kubectl_exec_runs_a_command_in_a_pod(cluster: Cluster) -> None:
    node, name = cluster.node, unique("exec")
    node.kubectl("run", name, f"--image={cluster.busybox}", "--", "sleep", "3600")
    try:
        node.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
        answer = node.kubectl("exec", name, "--", "sh", "-c", "echo $((6 * 7))")
        assert answer.stdout.strip() == "42"
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_a_pod_gets_a_working_service_account_token(cluster: Cluster) -> None:
    """ServiceAccount admission adds the kube-api-access volume, the kubelet fills it through
    TokenRequest, and the token authenticates as the pod's account, bound to the pod."""
    node, name = cluster.node, unique("token")
    node.kubectl("run", name, f"--image={cluster.busybox}", "--", "sleep", "3600")
    try:
        node.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
        secrets = "/var/run/secrets/kubernetes.io/serviceaccount"
        namespace = node.kubectl("exec", name, "--", "cat", f"{secrets}/namespace").stdout
        assert namespace == "default"
        token = node.kubectl("exec", name, "--", "cat", f"{secrets}/token").stdout.strip()
        review = node.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}}))
        status = json.loads(review.stdout)["status"]
        assert status["authenticated"] is True
        assert status["user"]["username"] == "system:serviceaccount:default:default"
        assert status["user"]["extra"]["authentication.kubernetes.io/pod-name"] == [name]
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_a_failing_liveness_probe_restarts_the_container_with_back_off(cluster: Cluster) -> None:
    node, name = cluster.node, unique("liveness")
    manifest = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": cluster.busybox, "command": ["sleep", "3600"],
            "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1,
                              "failureThreshold": 1},
        }]},
    }
    node.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    try:
        def events() -> set[str]:
            return {e["reason"] for e in node.get(
                "events", "--field-selector", f"involvedObject.name={name}")["items"]}

        # Killed for the failed probe, restarted, killed again: then the kubelet backs off
        # before the next start, as upstream (a BackOff event, CrashLoopBackOff while waiting).
        wait_for("a BackOff event", lambda: "BackOff" in events(), timeout=90)
        assert {"Unhealthy", "Killing", "Started"} <= events()
        status = node.pod(name)["status"]["containerStatuses"][0]
        assert status["restartCount"] >= 1
        assert status["lastState"].get("terminated"), status
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_a_missing_image_reports_err_image_pull_then_image_pull_back_off(
        cluster: Cluster) -> None:
    node, name = cluster.node, unique("noimage")
    node.kubectl("run", name, "--image=kubeadmpy.local/does-not-exist:1.0")
    seen: set[str] = set()

    def waiting_reason() -> bool:
        statuses = node.pod(name)["status"].get("containerStatuses") or []
        if statuses and (waiting := statuses[0]["state"].get("waiting")):
            seen.add(waiting["reason"])
        return "ImagePullBackOff" in seen

    try:
        wait_for("ImagePullBackOff", waiting_reason, timeout=90, interval=0.2)
        assert seen <= {"ContainerCreating", "ErrImagePull", "ImagePullBackOff"}, seen
        reasons = {e["reason"] for e in node.get(
            "events", "--field-selector", f"involvedObject.name={name}")["items"]}
        assert {"Failed", "BackOff"} <= reasons
        assert node.pod(name)["status"]["phase"] == "Pending"
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_a_killed_kubelet_leaves_pods_running_and_status_converges_after_restart(
        cluster: Cluster) -> None:
    node, name = cluster.node, unique("survivor")
    node.kubectl("run", name, f"--image={cluster.busybox}", "--", "sleep", "3600")
    try:
        node.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
        before = node.pod(name)["status"]["containerStatuses"][0]
        node.sh("kill -9 $(cat /run/kubeadmpy/kubelet.pid)", check=True)
        wait_for("the kubelet to be gone",
                 lambda: node.sh("curl -s -m 1 http://127.0.0.1:10248/healthz").exit_code != 0)
        assert container_id(before) in node.containerd_tasks()
        # Restart as a user would: the kubelet-start phase with the same flags.
        node.kubeadmpy("init", "phase", "kubelet-start", check=True)
        wait_for("the kubelet's healthz", lambda: node.sh(
            "curl -s -m 1 http://127.0.0.1:10248/healthz").stdout.strip() == "ok")
        after = node.pod(name)["status"]["containerStatuses"][0]
        assert container_id(after) == container_id(before)
        assert after["restartCount"] == 0 and "running" in after["state"]
        # Status keeps converging: a pod made after the restart runs, the node stays Ready.
        late = unique("late")
        node.kubectl("run", late, f"--image={cluster.busybox}", "--", "sleep", "3600")
        node.kubectl("wait", "--for=condition=Ready", f"pod/{late}", "--timeout=60s")
        node.kubectl("delete", "pod", late, "--now")
        assert node.node_ready()
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_a_killed_control_plane_container_is_restarted_by_the_kubelet(cluster: Cluster) -> None:
    node = cluster.node
    pod_name = f"kube-scheduler-{node.name}"
    before = node.pod(pod_name, "kube-system")["status"]["containerStatuses"][0]
    node.sh(f"ctr -n k8s.io tasks kill -s SIGKILL {container_id(before)}", check=True)

    def restarted() -> dict[str, object] | None:
        status = node.pod(pod_name, "kube-system")["status"]["containerStatuses"][0]
        fresh = status["restartCount"] > before["restartCount"] and "running" in status["state"]
        return status if fresh else None

    after = wait_for("the scheduler's restart", restarted, timeout=120)
    assert container_id(after) != container_id(before)
    assert container_id(after) in node.containerd_tasks()
    # It schedules again: a new pod is bound and runs.
    name = unique("scheduled")
    node.kubectl("run", name, f"--image={cluster.busybox}", "--", "sleep", "3600")
    try:
        node.kubectl("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=90s")
    finally:
        node.kubectl("delete", "pod", name, "--now", "--ignore-not-found")


def test_init_on_a_machine_with_a_cluster_fails_preflight_clearly(cluster: Cluster) -> None:
    result = cluster.node.init(check=False)
    assert result.exit_code != 0
    out = result.stdout
    assert "[preflight] Some fatal errors occurred:" in out
    assert "[ERROR Port-6443]: Port 6443 is in use" in out
    assert "/etc/kubernetes/manifests/kube-apiserver.yaml already exists" in out
    assert "Traceback" not in out
    assert "[preflight] [preflight]" not in out
    assert cluster.node.node_ready()  # the running cluster is untouched
