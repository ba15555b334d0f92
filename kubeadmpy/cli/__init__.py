"""The `kubeadmpy` command line: thin typer commands that parse, call a phase or runner, print."""
