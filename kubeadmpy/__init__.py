"""kubeadmpy: a kubeadm-style installer, and the small Kubernetes it installs, in Python."""

__version__ = "0.1.0"

__all__ = ["__version__"]
