"""kubeadmpy-apiserver: a Kubernetes-compatible API server on etcd that the real kubectl accepts.

`main.main()` parses upstream flag names; `server.run(settings)` is the in-process entry point.
"""
