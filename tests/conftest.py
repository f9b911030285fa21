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


@pytest.fixture
def meshops():
    return run_meshops


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """meshops's caches (compiled schemas, rendered manifests) in a directory of this test session,
    inherited by every CLI the tests run: no test reads what another checkout's run left behind."""
    import os

    previous = os.environ.get("MESHOPS_CACHE_DIR")
    os.environ["MESHOPS_CACHE_DIR"] = str(tmp_path_factory.mktemp("meshops-cache"))
    yield
    if previous is None:
        os.environ.pop("MESHOPS_CACHE_DIR", None)
    else:
        os.environ["MESHOPS_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def traffic():
    """A synthetic Istio mesh (namespace bookinfo) serving metrics on 127.0.0.1; tests add their own services."""
    from meshops.sim.traffic import TrafficSimulator

    simulator = TrafficSimulator(namespace="bookinfo").start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def prometheus_binary():
    """Path of Debian's prometheus binary; skips the test with the install command when it is absent."""
    from meshops.sim.prometheus import PrometheusNotInstalled, find_binary

    try:
        return find_binary("prometheus")
    except PrometheusNotInstalled as error:
        pytest.skip(f"real-Prometheus test: {error.message} ({error.hint})")


@pytest.fixture(scope="session")
def prometheus(traffic, prometheus_binary):
    """A real Prometheus (Debian's binary) on 127.0.0.1 scraping `traffic` every second.

    Shared by the whole session: the first scrape comes about 5 s after start, so tests pick
    service names of their own instead of paying that per test.
    """
    from meshops.sim.prometheus import LocalPrometheus

    with LocalPrometheus(targets=[traffic.target], scrape_interval=1.0, binary=prometheus_binary) as server:
        yield server


@pytest.fixture
def stopped_prometheus_url(prometheus_binary):
    """The URL of a real Prometheus that was started and then stopped (connection refused)."""
    from meshops.sim.prometheus import LocalPrometheus

    server = LocalPrometheus(binary=prometheus_binary).start()
    url = server.url
    server.stop()
    return url
@pytest.fixture
def validate_yaml():
    """Validate manifests written as YAML text (read like `-f` files, so findings carry real lines).

    Call it as `validate_yaml(text, config=None, live=None)`; `live` is a list of object dicts.
    """
    from meshops.model.manifest import FileSource, Manifest
    from meshops.validate import validate
    from meshops.yamlio.documents import load_documents

    def run(text: str, *, config=None, live=None, filename: str = "mesh.yaml"):
        manifests = [
            Manifest(obj=document.data, source=FileSource(filename, document))
            for document in load_documents(text, filename=filename)
        ]
        return validate(manifests, config=config, live=live)

    return run
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
    from meshops.yamlio.documents import load_documents

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


class MeshSandbox:
    """A sandbox with meshops's shipped Istio CRDs installed, its kubeconfig, and typed clients."""

    def __init__(self, server, kubeconfig: Path) -> None:
        from kubernetes import config

        self.server = server
        self.kubeconfig = kubeconfig
        self.api_client = config.new_client_from_config(config_file=str(kubeconfig), context="sandbox")

    def core_v1(self):
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def custom_objects(self):
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    def writes(self) -> list:
        """Request-log entries of every write (create/update/patch/delete), in order."""
        return [e for e in self.server.log.entries() if e.verb in ("create", "update", "patch", "delete")]


@pytest.fixture
def mesh_sandbox(sandbox, tmp_path: Path):
    """The sandbox as `meshops demo` runs it: Istio CRDs from `meshops crds export` (no ../shared needed)."""
    from meshops.validate.schemas import shipped_crds

    sandbox.install_crds(shipped_crds())
    mesh = MeshSandbox(sandbox, sandbox.write_kubeconfig(tmp_path / "mesh.kubeconfig"))
    mesh.core_v1().create_namespace({"metadata": {"name": "istio-system"}})  # as if Istio were installed
    sandbox.log.clear()
    try:
        yield mesh
    finally:
        mesh.api_client.close()


@pytest.fixture
def fleet(tmp_path: Path):
    """Sandboxes by name (`fleet.add("us-east")`), one kubeconfig each; all stopped after the test."""
    from helpers import Fleet

    sandboxes = Fleet(tmp_path)
    try:
        yield sandboxes
    finally:
        errors = sandboxes.stop()
    if errors:
        pytest.fail("sandbox internal errors:\n" + "\n".join(errors))


@pytest.fixture
def fleet_repo(tmp_path: Path, origin):
    """A config repo pushed to `origin` whose prod spans us-east (wave 1), eu-west and ap-south (wave 2)."""
    from helpers import FLEET_REPO_FILES, write_files

    repo = _git_repo(write_files(tmp_path / "fleet-config", FLEET_REPO_FILES))
    repo.git.add(A=True)
    repo.index.commit("fleet config")
    repo.create_remote("origin", str(origin)).push("main:main")
    return repo


# -- reconcile: config repositories pushed to a real bare repository ---------------------------------


def _git_repo(path: Path):
    import git

    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    return repo


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """An empty bare repository (default branch main) that tests push config repos to."""
    import git

    path = tmp_path / "origin.git"
    git.Repo.init(path, bare=True, initial_branch="main")
    return path


@pytest.fixture
def pushed_example_repo(example_repo, origin):
    """`example_repo` with `origin` as its remote and main pushed there."""
    example_repo.create_remote("origin", str(origin)).push("main:main")
    return example_repo


@pytest.fixture
def team_repo(tmp_path: Path, origin):
    """A small config repo pushed to `origin`: dev -> staging -> prod, each a ConfigMap in its own namespace."""
    from helpers import TEAM_REPO_FILES

    path = tmp_path / "team"
    for name, text in TEAM_REPO_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    repo = _git_repo(path)
    repo.git.add(A=True)
    repo.index.commit("team config")
    repo.create_remote("origin", str(origin)).push("main:main")
    return repo


# -- rollouts end to end: sandbox, synthetic mesh following the weights, real Prometheus -----------------


@pytest.fixture
def scenario(mesh_sandbox, tmp_path, traffic, prometheus, request):
    """A `rollouts.Scenario` maker: services of the test's own namespace, rolled out against the real Prometheus."""
    from rollouts import Scenario, assert_every_write_sums_to_100, fast_policy

    made: list[Scenario] = []

    def make(services: dict[str, dict], *, policy: dict | None = None, prometheus_url: str | None = None, **options):
        name = request.node.name.removeprefix("test_").replace("_", "-").replace("[", "-").rstrip("]")
        namespace = "ro-" + name[-40:].lstrip("-") if "[" in request.node.name else "ro-" + name[:40].rstrip("-")
        built = Scenario(mesh=mesh_sandbox, tmp_path=tmp_path, traffic=traffic, namespace=namespace, services=services,
                         policy=policy or fast_policy(), prometheus_url=prometheus_url or prometheus.url, **options)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()
    if made:
        assert_every_write_sums_to_100(mesh_sandbox.server.log)
