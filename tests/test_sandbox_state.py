"""`--state`: objects survive a restart; and `meshops sandbox start` as a user runs it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from helpers import ISTIO_CRDS, run_meshops
from meshops.model.errors import ConfigError
from meshops.sandbox import SandboxServer
from test_sandbox_http import WIDGETS


def core_client(server: SandboxServer, tmp_path: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(server.write_kubeconfig(tmp_path / "kc"))))


def test_objects_and_crds_survive_a_restart(tmp_path):
    state = tmp_path / "state.json"
    with SandboxServer(state_file=state) as first:
        first.install_crds([WIDGETS])
        first.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}})
        kept = core_client(first, tmp_path).create_namespaced_config_map("default", {"metadata": {"name": "kept"}})
    with SandboxServer(state_file=state) as second:
        core = core_client(second, tmp_path)
        assert core.read_namespaced_config_map("kept", "default").metadata.uid == kept.metadata.uid
        widget = client.CustomObjectsApi(core.api_client).get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
        assert widget["spec"] == {"size": 2}
        later = core.create_namespaced_config_map("default", {"metadata": {"name": "later"}})
        assert int(later.metadata.resource_version) > int(kept.metadata.resource_version)


def test_the_state_file_is_replaced_whole_with_no_leftovers(tmp_path):
    state = tmp_path / "state.json"
    with SandboxServer(state_file=state) as server:
        for index in range(20):
            server.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{index}"}})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    saved = json.loads(state.read_text())
    assert len([o for o in saved["objects"] if o["resource"] == "configmaps"]) == 20


def test_a_file_that_is_not_sandbox_state_is_a_config_error(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"hello": "world"}')
    with pytest.raises(ConfigError) as refused:
        SandboxServer(state_file=state).start()
    assert str(state) in refused.value.one_line() and "not a sandbox state file" in refused.value.message


class Started:
    """`meshops sandbox start` in a subprocess, stopped with SIGTERM."""

    def __init__(self, tmp_path: Path, *args: str, cwd: Path | None = None) -> None:
        self.kubeconfig = tmp_path / "out" / "sandbox.kubeconfig"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "meshops", "sandbox", "start", "--kubeconfig-out", str(self.kubeconfig), *args],
            cwd=cwd or tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={k: v for k, v in os.environ.items() if k != "MESHOPS_DEBUG"})

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while not self.kubeconfig.exists():
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() < deadline, "the sandbox did not write its kubeconfig in time"
            time.sleep(0.05)

    def output_once_ready(self) -> str:
        """Wait until serving, stop, and return what the command printed."""
        try:
            self.wait_ready()
        finally:
            _, stdout, _ = self.stop()
        return stdout

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.process.communicate(timeout=30)
        return self.process.returncode, stdout, stderr


def test_cli_start_serves_until_sigterm_and_writes_a_kubeconfig(tmp_path):
    started = Started(tmp_path, "--port", "0", "--no-istio")
    try:
        started.wait_ready()
        api = config.new_client_from_config(config_file=str(started.kubeconfig))
        assert "default" in [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
    finally:
        code, stdout, stderr = started.stop()
    assert code == 0, stderr
    assert "sandbox API server at https://127.0.0.1:" in stdout and stdout.rstrip().endswith("sandbox stopped")
    assert oct(started.kubeconfig.stat().st_mode & 0o777) == "0o600"


@pytest.mark.skipif(not ISTIO_CRDS.is_file(), reason=f"upstream Istio CRDs not found at {ISTIO_CRDS}")
def test_cli_start_installs_crds_given_with_crds(tmp_path):
    started = Started(tmp_path, "--crds", str(ISTIO_CRDS))
    try:
        started.wait_ready()
        api = config.new_client_from_config(config_file=str(started.kubeconfig))
        resources = client.CustomObjectsApi(api).get_api_resources("networking.istio.io", "v1")
        assert "virtualservices" in [r.name for r in resources.resources]
    finally:
        _, stdout, _ = started.stop()
    assert f"installed 15 CRDs from {ISTIO_CRDS}" in stdout


def test_cli_start_installs_the_shipped_istio_and_gateway_api_crds_and_istio_system_by_default(tmp_path):
    from kubernetes import client, config

    from meshops.validate.schemas import SHIPPED_KINDS

    started = Started(tmp_path)
    try:
        started.wait_ready()
        api = config.new_client_from_config(config_file=str(started.kubeconfig))
        names = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
        groups = {group.name for group in client.ApisApi(api).get_api_versions().groups}
    finally:
        _, stdout, _ = started.stop()
    assert f"installed {len(SHIPPED_KINDS)} CRDs from meshops's shipped Istio and Gateway API schemas" in stdout
    assert "istio-system" in names
    assert {"networking.istio.io", "gateway.networking.k8s.io"} <= groups


def test_cli_start_without_istio_installs_nothing(tmp_path):
    assert "no CRDs installed (--no-istio)" in Started(tmp_path, "--no-istio").output_once_ready()


def test_cli_start_refuses_a_crds_file_holding_other_kinds(tmp_path):
    bad = tmp_path / "crds.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    result = run_meshops("sandbox", "start", "--crds", str(bad), "--kubeconfig-out", str(tmp_path / "kc"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {bad}:1: expected a CustomResourceDefinition, found ConfigMap "
                                     "(--crds takes files of CustomResourceDefinitions only)")
    assert not (tmp_path / "kc").exists()
