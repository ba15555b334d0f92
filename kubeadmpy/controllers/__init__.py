"""kubeadmpy's controller-manager: one module per controller, all on kubeadmpy.client's
`Controller` shape; `registry` lists them, `manager` runs the selected ones as one component
(`kubeadmpy-controller-manager`, see `main`)."""
