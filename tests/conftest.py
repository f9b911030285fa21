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


@pytest.fixture(scope="session")
def traffic():
    """A synthetic Istio mesh (namespace bookinfo) serving metrics on 127.0.0.1; tests add their own services."""
    from meshops.traffic import TrafficSimulator

    simulator = TrafficSimulator(namespace="bookinfo").start()
    yield simulator
    simulator.stop()


@pytest.fixture(scope="session")
def prometheus_binary():
    """Path of Debian's prometheus binary; skips the test with the install command when it is absent."""
    from meshops.localprom import PrometheusNotInstalled, find_binary

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
    from meshops.localprom import LocalPrometheus

    with LocalPrometheus(targets=[traffic.target], scrape_interval=1.0, binary=prometheus_binary) as server:
        yield server


@pytest.fixture
def stopped_prometheus_url(prometheus_binary):
    """The URL of a real Prometheus that was started and then stopped (connection refused)."""
    from meshops.localprom import LocalPrometheus

    server = LocalPrometheus(binary=prometheus_binary).start()
    url = server.url
    server.stop()
    return url
@pytest.fixture
def validate_yaml():
    """Validate manifests written as YAML text (read like `-f` files, so findings carry real lines).

    Call it as `validate_yaml(text, config=None, live=None)`; `live` is a list of object dicts.
    """
    from meshops.manifest import FileSource, Manifest
    from meshops.validate import validate
    from meshops.yamlio import load_documents

    def run(text: str, *, config=None, live=None, filename: str = "mesh.yaml"):
        manifests = [
            Manifest(obj=document.data, source=FileSource(filename, document))
            for document in load_documents(text, filename=filename)
        ]
        return validate(manifests, config=config, live=live)

    return run
