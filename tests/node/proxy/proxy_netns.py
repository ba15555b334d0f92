"""A node in miniature for the proxy's node tests: network namespaces this test creates.

`node` holds a bridge (10.244.0.1/24, the pod network) and an uplink (192.168.77.2/24) to an
`outside` namespace that is also its default route, like a real node's; pod namespaces hang on
the bridge, each with a tiny TCP and UDP server that answers its own name. Nothing is created in
the host's namespace, and `close()` removes every namespace and process, also after failures.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field

NODE_IP = "192.168.77.2"
OUTSIDE_IP = "192.168.77.1"
GATEWAY = "10.244.0.1"
CLUSTER_CIDR = "10.244.0.0/16"

_SERVER = """
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
def answer_udp():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    while True:
        _, peer = udp.recvfrom(100)
        udp.sendto(name.encode(), peer)
threading.Thread(target=answer_udp, daemon=True).start()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", port))
server.listen(16)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    conn.sendall(name.encode())
    conn.close()
"""

_CLIENT = """
import socket, sys
host, port, proto = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    if proto == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as conn:
            conn.settimeout(3)
            conn.connect((host, port))
            conn.send(b"?")
            print(conn.recv(100).decode() or "empty")
    else:
        with socket.create_connection((host, port), timeout=3) as conn:
            print(conn.recv(100).decode() or "empty")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
except OSError as exc:
    print(f"error {exc.errno}")
"""


def sh(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass
class MiniNode:
    prefix: str = field(default_factory=lambda: f"kpyproxy-{uuid.uuid4().hex[:6]}")
    namespaces: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen[str]] = field(default_factory=list)
    pods: dict[str, str] = field(default_factory=dict)  # pod name → IP

    @property
    def node(self) -> str:
        return f"{self.prefix}-node"

    @property
    def outside(self) -> str:
        return f"{self.prefix}-out"

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def _add_namespace(self, name: str) -> str:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def open(self) -> None:
        node, outside = self._add_namespace(self.node), self._add_namespace(self.outside)
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # Replies between pods on one bridge must pass conntrack to be un-DNATted.
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1")
        sh("ip", "-n", node, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", f"{GATEWAY}/24", "dev", "br0")
        sh("ip", "-n", node, "link", "set", "br0", "up")
        sh("ip", "-n", node, "link", "add", "up0", "type", "veth", "peer", "name", "eth0",
           "netns", outside)
        sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "up0")
        sh("ip", "-n", node, "link", "set", "up0", "up")
        sh("ip", "-n", outside, "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0")
        sh("ip", "-n", outside, "link", "set", "eth0", "up")
        sh("ip", "-n", node, "route", "add", "default", "via", OUTSIDE_IP)

    def add_pod(self, name: str, ip: str, serve_port: int = 0) -> str:
        ns = self._add_namespace(self.ns(name))
        host_side = f"v{len(self.pods)}"
        sh("ip", "-n", self.node, "link", "add", host_side, "type", "veth", "peer", "name",
           "eth0", "netns", ns)
        sh("ip", "-n", self.node, "link", "set", host_side, "master", "br0", "up")
        # As the CNI bridge plugin with hairpinMode (our pod-network conflist sets it): a pod
        # that reaches itself through a ClusterIP gets the frame back on its own port.
        sh("ip", "-n", self.node, "link", "set", host_side, "type", "bridge_slave", "hairpin",
           "on")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", GATEWAY)
        self.pods[name] = ip
        if serve_port:
            server = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-c", _SERVER, name,
                 str(serve_port)], stdout=subprocess.PIPE, text=True)
            self.servers.append(server)
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        return ns

    def connect(self, ns: str, ip: str, port: int, proto: str = "tcp") -> str:
        """What a client in `ns` gets: the server's name, "refused", "timeout"..."""
        return sh("ip", "netns", "exec", ns, sys.executable, "-c", _CLIENT, ip, str(port),
                  proto).strip()

    def answers(self, ns: str, ip: str, port: int, tries: int = 40,
                proto: str = "tcp") -> set[str]:
        """Every distinct answer over up to `tries` connections (stops once two pods replied)."""
        seen: set[str] = set()
        for _ in range(tries):
            seen.add(self.connect(ns, ip, port, proto))
            if len(seen & set(self.pods)) >= 2:
                break
        return seen

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait()
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], check=False)
        self.namespaces.clear()
