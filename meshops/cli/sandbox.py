"""`meshops sandbox start`: the local Kubernetes API server in the foreground, for demos and hands-on tests."""
from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..model.errors import Location

# An Istio installation creates its root namespace; the mesh-wide config (Telemetry, mesh
# ConfigMap) lives there, so a sandbox "with Istio" has it too.
ISTIO_NAMESPACE = "istio-system"


@click.group()
def sandbox() -> None:
    """A local Kubernetes API server that kubectl and the kubernetes client accept (no cluster needed)."""


def _read_crds(paths: tuple[Path, ...]) -> list[tuple[dict, "Location"]]:
    from ..model.errors import ConfigError, Location, UsageError
    from ..yamlio.documents import load_documents

    definitions = []
    for path in paths:
        try:
            text = path.read_bytes()
        except OSError as error:
            raise UsageError(f"cannot read {path}: {error.strerror}", hint="check the --crds path") from None
        for document in load_documents(text, filename=str(path)):
            if not isinstance(document.data, dict) or document.data.get("kind") != "CustomResourceDefinition":
                kind = document.data.get("kind") if isinstance(document.data, dict) else type(document.data).__name__
                raise ConfigError(f"expected a CustomResourceDefinition, found {kind}",
                                  location=Location(str(path), document.start_line),
                                  hint="--crds takes files of CustomResourceDefinitions only")
            definitions.append((document.data, Location(str(path), document.start_line)))
    return definitions


def _install(server, definitions) -> None:
    from ..model.errors import ConfigError
    from ..sandbox import ApiError

    for definition, location in definitions:
        try:
            server.install_crds([definition])
        except ApiError as error:
            raise ConfigError(f"the sandbox refused this CRD: {error.message}", location=location,
                              hint="fix the CustomResourceDefinition") from None


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--kubeconfig-out", type=click.Path(dir_okay=False, path_type=Path), default=Path("sandbox.kubeconfig"),
              show_default=True, help="Where to write a kubeconfig for kubectl and the kubernetes client.")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep objects in this file across restarts (written atomically).")
@click.option("--no-istio", is_flag=True,
              help="Start without Istio: no Istio or Gateway API CRDs, no istio-system namespace.")
@click.option("--crds", "crd_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Install the CustomResourceDefinitions in this file instead of meshops's shipped Istio and "
                   "Gateway API CRDs; may be repeated.")
def start(port: int, kubeconfig_out: Path, state: Path | None, no_istio: bool, crd_files: tuple[Path, ...]) -> None:
    """Run the sandbox API server in the foreground until Ctrl-C.

    \b
    Examples:
      meshops sandbox start --kubeconfig-out /tmp/sandbox.kubeconfig
      meshops sandbox start --port 8001 --state sandbox.json --crds istio-crds.yaml
      kubectl --kubeconfig /tmp/sandbox.kubeconfig get namespaces
    """
    from ..model.errors import UsageError
    from ..sandbox import SandboxServer

    definitions = _read_crds(crd_files)
    source = ", ".join(map(str, crd_files))
    if not crd_files and not no_istio:
        from ..model.errors import Location
        from ..validate.schemas import shipped_crds

        definitions = [(crd, Location("meshops crds export")) for crd in shipped_crds()]
        source = "meshops's shipped Istio and Gateway API schemas (meshops crds export)"
    server = SandboxServer(port=port, state_file=state)
    try:
        server.start()
    except OSError as error:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}",
                         hint="choose another --port, or 0 for a free one") from None
    try:
        _install(server, definitions)
        existing = {obj["metadata"]["name"] for obj in server.objects("", "namespaces")}
        if not no_istio and ISTIO_NAMESPACE not in existing:  # a --state file may already hold it
            server.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_NAMESPACE}})
        path = server.write_kubeconfig(kubeconfig_out)
        click.echo(f"sandbox API server at {server.url}")
        click.echo(f"kubeconfig: {path} (kubectl --kubeconfig {path} get namespaces)")
        click.echo(f"installed {len(definitions)} CRDs from {source}" if definitions else "no CRDs installed (--no-istio)")
        if state:
            click.echo(f"state: {state}")
        click.echo("press Ctrl-C to stop")
        sys.stdout.flush()  # a supervisor reading a pipe sees the address now, not at exit
        _wait_for_signal()
    finally:
        server.stop()
    click.echo("sandbox stopped")


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    received: list[int] = []
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda number, frame: received.append(number))
    while not received:
        signal.pause()
