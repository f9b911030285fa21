"""Shared fixtures: the example config repository as a real git repository, and the CLI runner."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import copy_example_repo, run_meshops


@pytest.fixture
def example_repo(tmp_path: Path):
    """The example config repo committed into a fresh git repository (gitpython)."""
    import git

    path = copy_example_repo(tmp_path / "config")
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    repo.git.add(A=True)
    repo.index.commit("example config")
    return repo


def run_meshops(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would), capturing text output."""
    full_env = dict(os.environ)
    full_env.pop("MESHOPS_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "meshops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def meshops():
    return run_meshops


# -- meshops.sandbox: a local Kubernetes API server over real HTTP ------------------------------------


@pytest.fixture
def sandbox():
    """A started, empty sandbox API server (initial namespaces only); stopped after the test.

    A bug inside the sandbox (an internal error answered as 500) fails the test at teardown.
    """
    from meshops.sandbox import SandboxServer

    server = SandboxServer().start()
    try:
        yield server
    finally:
        server.stop()
    if server.internal_errors:
        pytest.fail("sandbox internal errors:\n" + "\n".join(server.internal_errors))


@pytest.fixture
def sandbox_kubeconfig(sandbox, tmp_path: Path) -> Path:
    """A kubeconfig file pointing at `sandbox` (token user)."""
    return sandbox.write_kubeconfig(tmp_path / "sandbox.kubeconfig")


@pytest.fixture(scope="session")
def istio_crd_documents() -> list[dict]:
    """The upstream Istio CRDs (test data from ../shared/istio/), parsed once per session."""
    from helpers import ISTIO_CRDS
    from meshops.yamlio import load_documents

    if not ISTIO_CRDS.is_file():
        pytest.skip(f"upstream Istio CRDs not found at {ISTIO_CRDS}")
    return [d.data for d in load_documents(ISTIO_CRDS.read_bytes(), filename=str(ISTIO_CRDS)) if d.data]


@pytest.fixture
def istio_sandbox(sandbox, istio_crd_documents):
    """`sandbox` with the upstream Istio CRDs installed (skips when they are absent)."""
    sandbox.install_crds(istio_crd_documents)
    return sandbox


@pytest.fixture
def sandbox_api_client(sandbox_kubeconfig: Path):
    """An official `kubernetes.client.ApiClient` configured from the sandbox kubeconfig."""
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=str(sandbox_kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()
