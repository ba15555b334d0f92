"""`kubeadmpy config images list|pull`: kubeadm's commands, for both control-plane flavors.

`list` prints the images the chosen flavor runs (kubeadm's list for ``upstream``; the locally
built control-plane and pause images for ``python``). `pull` makes containerd hold them: for
``python`` that is a local build plus import (nothing is downloaded), for ``upstream`` a CRI
PullImage per image, as kubeadm does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from kubeadmpy.cli.options import ConfigOption, RootDirOption, host_paths
from kubeadmpy.config import InitBundle, loader
from kubeadmpy.config.flags import InitFlags
from kubeadmpy.cri import CRIClient, CRIError, wait_for_runtime
from kubeadmpy.errors import UserInputError
from kubeadmpy.images import catalog
from kubeadmpy.images.node import ensure_python_flavor_images
from kubeadmpy.render.versions import parse_kubernetes_version

app = typer.Typer(help="Interact with container images used by kubeadmpy.",
                  no_args_is_help=True)

KubernetesVersionOption = Annotated[
    str | None, typer.Option("--kubernetes-version", help="Choose a Kubernetes version.")]
ImageRepositoryOption = Annotated[
    str | None, typer.Option("--image-repository",
                             help="Choose a container registry to pull control plane images "
                                  "from (upstream flavor).")]
OUTPUT_FORMATS = ("text", "json", "yaml")
RUNTIME_CHECK_SECONDS = 3.0


def _bundle(config: Path | None, kubernetes_version: str | None,
            image_repository: str | None, cri_socket: str | None = None) -> InitBundle:
    flags = InitFlags(kubernetes_version=kubernetes_version, image_repository=image_repository,
                      cri_socket=cri_socket)
    return loader.load_init_config(config, flags)


def _images(bundle: InitBundle) -> list[catalog.ImageListEntry]:
    version = parse_kubernetes_version(bundle.cluster.kubernetes_version)
    flavor = bundle.kubeadmpy.control_plane_flavor
    return catalog.images_for("upstream" if flavor == "upstream" else "python", version,
                              bundle.cluster.image_repository)


@app.command("list")
def list_images(
    config: ConfigOption = None,
    kubernetes_version: KubernetesVersionOption = None,
    image_repository: ImageRepositoryOption = None,
    output: Annotated[str, typer.Option("-o", "--output",
                                        help="Output format: text, json or yaml.")] = "text",
) -> None:
    """Print a list of images kubeadmpy will use."""
    if output not in OUTPUT_FORMATS:
        raise UserInputError("--output", f"{output!r} is not a format",
                             f"use one of {', '.join(OUTPUT_FORMATS)}")
    references = [image.reference for image in _images(_bundle(config, kubernetes_version,
                                                               image_repository))]
    document = {"kind": "Images", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
                "images": references}
    if output == "json":
        typer.echo(json.dumps(document, indent=2))
    elif output == "yaml":
        typer.echo(yaml.safe_dump(document, sort_keys=False), nl=False)
    else:
        for reference in references:
            typer.echo(reference)


async def _pull_from_registry(endpoint: str, references: list[str]) -> None:
    async with CRIClient(endpoint) as client:
        for reference in references:
            try:
                await client.pull_image(reference)
            except CRIError as exc:
                raise UserInputError("image", f"failed to pull image {reference}: {exc.detail}",
                                     "check the registry is reachable, or use the python "
                                     "flavor, whose images are built locally") from exc
            typer.echo(f"[config/images] Pulled {reference}")


def _check_runtime(endpoint: str) -> None:
    """Fail fast, before any build, when no runtime answers on the socket."""
    try:
        asyncio.run(wait_for_runtime(endpoint, RUNTIME_CHECK_SECONDS))
    except CRIError as exc:
        raise UserInputError("--cri-socket", f"no container runtime answers on {endpoint}",
                             "Start containerd first, or point --cri-socket (or "
                             "nodeRegistration.criSocket) at its socket") from exc


@app.command("pull")
def pull(
    config: ConfigOption = None,
    kubernetes_version: KubernetesVersionOption = None,
    image_repository: ImageRepositoryOption = None,
    cri_socket: Annotated[str | None, typer.Option(
        "--cri-socket", help="Path to the CRI socket to connect.")] = None,
    root_dir: RootDirOption = None,
) -> None:
    """Make containerd hold the images kubeadmpy uses (build and import for python)."""
    bundle = _bundle(config, kubernetes_version, image_repository, cri_socket)
    endpoint = bundle.init.node_registration.cri_socket or "unix:///run/containerd/containerd.sock"
    images = _images(bundle)
    _check_runtime(endpoint)
    if not any(image.local for image in images):
        asyncio.run(_pull_from_registry(endpoint, [image.reference for image in images]))
        return
    pause_tag = images[1].reference.rpartition(":")[2]
    for image in ensure_python_flavor_images(host_paths(root_dir), pause_tag, endpoint,
                                             images[0].reference):
        typer.echo(f"[config/images] {image.summary}")
