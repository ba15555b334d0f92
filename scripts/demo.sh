#!/usr/bin/env bash
# The main job: make two lab machines, run `kubeadmpy init` on cp1 and `kubeadmpy join` on w1,
# then the real kubectl on cp1: `kubectl get nodes`, the add-ons (flannel, kube-proxy, DNS) and a
# sample Deployment (create, expose, reach it by its Service name from a pod on each machine,
# logs, exec, delete).
#
#   scripts/demo.sh            # removes its lab at the end (also when a step fails)
#   scripts/demo.sh --keep     # leaves the lab running: kubeadmpy lab ssh cp1 --name demo
#   scripts/demo.sh --name X   # another lab name (default: demo)
#
# Idempotent: a lab kept from an earlier run is reused, and a cluster already in it is reset
# before init runs again.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=demo
KEEP=0
while (($#)); do
  case "$1" in
    --keep) KEEP=1 ;;
    --name) LAB="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (use --keep, --name NAME)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: lab machines need root; run it as root" >&2
  exit 1
fi

if [ -t 1 ]; then
  say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '\n==> %s\n' "$*"; }
fi
on_cp1() { kubeadmpy lab ssh --name "$LAB" cp1 -- "$@"; }
on_w1() { kubeadmpy lab ssh --name "$LAB" w1 -- "$@"; }

cleanup() {
  status=$?
  if [ "$KEEP" = 1 ]; then
    say "Keeping lab '$LAB': kubeadmpy lab ssh cp1 --name $LAB   (remove: kubeadmpy lab down --name $LAB)"
  else
    say "Removing lab '$LAB'"
    # Pods go through the runtime first, as before deleting a VM; then the machine itself.
    on_w1 'kubeadmpy reset --force >/dev/null 2>&1 || true' || true
    on_cp1 'kubeadmpy reset --force >/dev/null 2>&1 || true' || true
    kubeadmpy lab down --name "$LAB"
  fi
  exit "$status"
}
trap cleanup EXIT

say "Creating lab '$LAB' with two machines (cp1, w1)"
kubeadmpy lab up --name "$LAB" --control-planes 1 --workers 1 >/dev/null
kubeadmpy lab status --name "$LAB"

if on_w1 'test -e /etc/kubernetes/kubelet.conf'; then
  say "w1 already joined a cluster in an earlier run: kubeadmpy reset"
  on_w1 'kubeadmpy reset --force'
fi
if on_cp1 'test -e /etc/kubernetes/admin.conf'; then
  say "cp1 already holds a cluster from an earlier run: kubeadmpy reset"
  on_cp1 'kubeadmpy reset --force'
fi

say "cp1: kubeadmpy init --pod-network-cidr 10.244.0.0/16"
on_cp1 'kubeadmpy init --pod-network-cidr 10.244.0.0/16'

# From here on: kubeadm's next steps, as printed by init, and the real kubectl.
on_cp1 'mkdir -p $HOME/.kube && cp /etc/kubernetes/admin.conf $HOME/.kube/config'

say "w1: kubeadmpy join (the command init printed, made afresh with kubeadmpy token create)"
JOIN=$(on_cp1 'kubeadmpy token create --print-join-command' | tail -1)
on_w1 "$JOIN"

say "cp1: kubectl get nodes"
on_cp1 'kubectl wait --for=condition=Ready node/cp1 node/w1 --timeout=180s >/dev/null && kubectl get nodes -o wide'
on_cp1 'kubectl -n kube-system rollout status daemonset/kube-proxy --timeout=120s >/dev/null; kubectl -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=120s >/dev/null; kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null'
on_cp1 'kubectl get pods -A -o wide'

say "cp1: a sample Deployment"
# The control plane takes workloads too here, so the scheduler may use both machines;
# the test image is built locally on each machine (no registry).
on_cp1 'kubectl taint node cp1 node-role.kubernetes.io/control-plane:NoSchedule- >/dev/null'
IMAGE=$(on_cp1 "python3 -c 'from kubeadmpy.images import ensure_image, busybox_recipe; from kubeadmpy.paths import HostPaths; print(ensure_image(busybox_recipe(), HostPaths()).image.reference)'" | tail -1)
on_w1 "python3 -c 'from kubeadmpy.images import ensure_image, busybox_recipe; from kubeadmpy.paths import HostPaths; ensure_image(busybox_recipe(), HostPaths())'" >/dev/null
on_cp1 "kubectl create deployment hello --image=$IMAGE --replicas=2 -- sh -c \"trap 'exit 0' TERM; echo hello from \\\$(hostname); mkdir -p /www; hostname > /www/index.html; httpd -f -p 8080 -h /www & wait\""
on_cp1 'kubectl rollout status deployment/hello --timeout=120s'
on_cp1 'kubectl expose deployment hello --port 80 --target-port 8080'
on_cp1 'kubectl get deployment,pods,service,endpointslices -l app=hello -o wide'
on_cp1 'kubectl logs deployment/hello'
on_cp1 'kubectl exec deployment/hello -- sh -c "echo exec in \$(hostname): \$(wc -l < /etc/hosts) lines in /etc/hosts"'

say "A pod on each machine asks http://hello (cluster DNS → kube-proxy → flannel VXLAN)"
for node in cp1 w1; do
  on_cp1 "kubectl run client-$node --image=$IMAGE --restart=Never --overrides='{\"spec\":{\"nodeName\":\"$node\"}}' -- sleep 3600 >/dev/null"
done
on_cp1 'kubectl wait --for=condition=Ready pod/client-cp1 pod/client-w1 --timeout=120s >/dev/null'
for node in cp1 w1; do
  on_cp1 "for i in 1 2 3 4; do echo \"client-$node -> \$(kubectl exec client-$node -- wget -qO- http://hello)\"; done"
done
on_cp1 'kubectl exec client-w1 -- nslookup hello.default.svc.cluster.local | tail -3'

on_cp1 'kubectl delete pod client-cp1 client-w1 --now >/dev/null; kubectl delete service,deployment hello && kubectl wait --for=delete pod -l app=hello --timeout=60s; kubectl get pods'

say "Done: init, join, pod network, Services by name, and a Deployment created, exposed, logged, exec'd into and deleted"
