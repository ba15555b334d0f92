"""FakeResolver: a stand-in for the node's upstream DNS server, on a loopback address port 53.

It answers A queries under `example.org.` with 192.0.2.80 (a documentation address), never
answers names starting with `silent.`, and says NXDOMAIN to everything else, so the tests see
what kubeadmpy-dns forwarded without a single packet leaving loopback.
"""

from __future__ import annotations

import random
import socket
import threading

import dns.message
import dns.rcode
import dns.rrset

ANSWER_IP = "192.0.2.80"


class FakeResolver:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(20):  # a free 127.0.0.x: port 53 is privileged, so few compete for it
            self.address = f"127.0.0.{random.randint(100, 250)}"
            try:
                self.sock.bind((self.address, 53))
                break
            except OSError:
                continue
        else:
            self.sock.close()
            raise RuntimeError("no free 127.0.0.x:53 for the fake resolver")
        self.sock.settimeout(0.2)
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text().lower()
            self.seen.append(name)
            if name.startswith("silent."):
                continue
            reply = dns.message.make_response(query)
            if name.endswith("example.org.") and question.rdtype == 1:
                reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A",
                                                        ANSWER_IP))
            elif not name.endswith("example.org."):
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
