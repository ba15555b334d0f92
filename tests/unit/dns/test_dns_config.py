"""kubeadmpy-dns flags: defaults as kubeadm's Corefile, upstreams from resolv.conf or --upstream,
and every bad value a clear error naming the flag (and no traceback from the executable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubeadmpy.dns import Upstream, parse_settings
from kubeadmpy.errors import ConfigError


def resolv_conf(tmp_path: Path, text: str) -> str:
    path = tmp_path / "resolv.conf"
    path.write_text(text)
    return str(path)


def test_defaults_follow_kubeadms_corefile(tmp_path: Path) -> None:
    conf = resolv_conf(tmp_path, "search corp.example\nnameserver 10.0.0.2\n"
                                 "nameserver fe80::1%eth0 # link-local\noptions ndots:2\n")
    settings = parse_settings([f"--resolv-conf={conf}"])
    assert (settings.cluster_domain, settings.ttl) == ("cluster.local", 30)
    assert (settings.listen_host, settings.listen_port) == ("0.0.0.0", 53)
    assert (settings.health_listen, settings.ready_listen) == ("0.0.0.0:8080", "0.0.0.0:8181")
    assert settings.upstreams == (Upstream("10.0.0.2"), Upstream("fe80::1"))
    assert settings.forward_timeout == 2.0


def test_flags_override_everything(tmp_path: Path) -> None:
    settings = parse_settings([
        "--cluster-domain=Corp.Example.", "--listen=127.0.0.9:5353", "--ttl=5",
        "--upstream=127.0.0.2:5300,[::1]:53,127.0.0.3", "--forward-timeout=250ms",
        "--health-listen=", "--ready-listen=[::1]:8181", "--kubeconfig=/x/admin.conf"])
    assert settings.cluster_domain == "corp.example" and settings.ttl == 5
    assert (settings.listen_host, settings.listen_port) == ("127.0.0.9", 5353)
    assert settings.upstreams == (Upstream("127.0.0.2", 5300), Upstream("::1", 53),
                                  Upstream("127.0.0.3", 53))
    assert settings.forward_timeout == 0.25
    assert (settings.health_listen, settings.ready_listen) == ("", "[::1]:8181")
    assert settings.kubeconfig == "/x/admin.conf"
    assert parse_settings(["--resolv-conf="]).upstreams == ()


BAD = [
    ("a cluster domain with an underscore", ["--cluster-domain=my_cluster.local"],
     "--cluster-domain"),
    ("an empty cluster domain", ["--cluster-domain=."], "--cluster-domain"),
    ("a listen address without port", ["--listen=0.0.0.0"], "--listen"),
    ("a listen host that is a name", ["--listen=localhost:53"], "--listen"),
    ("a listen port out of range", ["--listen=0.0.0.0:70000"], "--listen"),
    ("a TTL beyond an hour", ["--ttl=7200"], "--ttl"),
    ("a negative TTL", ["--ttl=-1"], "--ttl"),
    ("a forward timeout without a number", ["--forward-timeout=soon"], "--forward-timeout"),
    ("an upstream that is a name", ["--upstream=dns.google"], "--upstream"),
    ("an upstream port of zero", ["--upstream=127.0.0.1:0"], "--upstream"),
    ("a health address that is not host:port", ["--health-listen=8080"], "--health-listen"),
    ("a verbosity that is not a number", ["--v=debug"], "--v"),
]


@pytest.mark.parametrize(("argv", "flag"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_flag_names_itself(argv: list[str], flag: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(["--resolv-conf=", *argv])
    assert caught.value.field == flag and caught.value.fix


def test_resolv_conf_problems_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*missing\.conf"):
        parse_settings([f"--resolv-conf={tmp_path / 'missing.conf'}"])
    with pytest.raises(ConfigError, match="lists no nameserver"):
        parse_settings([f"--resolv-conf={resolv_conf(tmp_path, 'search example.com')}"])
    with pytest.raises(ConfigError, match="not an IP address"):
        parse_settings([f"--resolv-conf={resolv_conf(tmp_path, 'nameserver dns.example')}"])


def test_the_executable_reports_bad_flags_without_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "kubeadmpy.dns.main", "--resolv-conf=",
                             "--cluster-domain=bad_domain"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("kubeadmpy-dns: --cluster-domain: 'bad_domain' is not")
    assert "Traceback" not in result.stderr


def test_the_executable_reports_a_missing_kubeconfig_without_a_traceback(tmp_path: Path
                                                                         ) -> None:
    result = subprocess.run([sys.executable, "-m", "kubeadmpy.dns.main", "--resolv-conf=",
                             f"--kubeconfig={tmp_path / 'nope.conf'}", "--listen=127.0.0.1:0"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1 and "nope.conf" in result.stderr
    assert "Traceback" not in result.stderr
