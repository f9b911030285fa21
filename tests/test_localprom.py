"""LocalPrometheus: a real Prometheus binary started on 127.0.0.1, stopped and cleaned up."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from meshops.model.errors import ExitCode, MetricsError
from meshops.sim.prometheus import LocalPrometheus, PrometheusNotInstalled, find_binary, scrape_config
from meshops.metrics.prometheus import PrometheusClient
from meshops.metrics.source import QueryStatus

needs_prometheus = pytest.mark.usefixtures("prometheus_binary")


def test_a_missing_binary_is_a_clear_error_saying_how_to_install_it():
    with pytest.raises(PrometheusNotInstalled) as caught:
        find_binary("meshops-no-such-prometheus")
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert caught.value.one_line() == (
        "error: the meshops-no-such-prometheus binary is not on PATH "
        "(install Debian's package: apt-get install -y --no-install-recommends prometheus)"
    )


@needs_prometheus
def test_the_generated_config_passes_promtool(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text(scrape_config(["127.0.0.1:9999", "127.0.0.1:9998"], interval=1.0))
    checked = subprocess.run([find_binary("promtool"), "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_prometheus
def test_start_waits_until_ready_and_stop_frees_the_port_and_the_directory():
    server = LocalPrometheus().start()
    url, workdir = server.url, server.workdir
    assert server.client().query_value("vector(1)").value == 1.0
    server.stop()
    assert not workdir.exists()
    assert PrometheusClient(url=url).query("vector(1)").status is QueryStatus.UNREACHABLE


@needs_prometheus
def test_a_server_that_cannot_start_is_an_error_with_its_exit_code():
    server = LocalPrometheus(binary=shutil.which("false"))
    with pytest.raises(MetricsError) as caught:
        server.start()
    assert "Prometheus did not start: exited with code 1" in caught.value.message
    server.stop()


@needs_prometheus
def test_backfilling_a_running_server_is_refused_because_it_would_not_see_the_blocks():
    with LocalPrometheus() as server:
        with pytest.raises(RuntimeError):
            server.backfill("# EOF\n")


@needs_prometheus
def test_waiting_for_a_series_that_never_comes_times_out_with_the_reason():
    with LocalPrometheus() as server:
        with pytest.raises(MetricsError) as caught:
            server.wait_for_series('absent_metric{job="x"}', timeout=0.3)
    assert "no usable result for" in caught.value.message and "0 series" in caught.value.message
