"""The pod network's errors, inside kubeadmpy's one exception tree.

`NetworkError` is what flanneld reports about the machine (no usable interface, a netlink call
the kernel refused, nft failing); bad configuration (net-conf.json, flags) is a `ConfigError`
naming the field, raised by the parsers.
"""

from __future__ import annotations

from kubeadmpy.errors import KubeadmpyError


class NetworkError(KubeadmpyError):
    """The node's network could not be read or programmed; the message says what and where."""
