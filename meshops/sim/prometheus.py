"""A real Prometheus server on 127.0.0.1, started and cleaned up by meshops (tests, benchmarks, demo).

Debian's `prometheus` package does not start a service here, so `LocalPrometheus` runs the binary
itself: a generated config scraping the given targets every second, a temporary TSDB directory,
a free port, and a wait for `/-/ready`. It can also backfill OpenMetrics text with `promtool tsdb
create-blocks-from openmetrics` before starting, for exact values at an explicit query time.
Facts that shape it (measured with Prometheus 2.42 from Debian): the first scrape comes about 5 s after
start (target discovery hands targets over at most every 5 s), `rate()` reads low until a whole
window has samples, and backfilled blocks survive only with a long retention.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from ..model.errors import MetricsError
from ..metrics.prometheus import PrometheusClient
from ..metrics.source import QueryResult

INSTALL_HINT = "install Debian's package: apt-get install -y --no-install-recommends prometheus"
# Seconds to wait for /-/ready; a fresh server is ready in about 0.1 s, a loaded CI machine is slower.
READY_TIMEOUT = 30.0
# Seconds between SIGTERM and SIGKILL: Prometheus flushes its head block on SIGTERM in well under this.
STOP_GRACE = 10.0
# Backfilled samples can be years old; retention counts from the newest block, so keep everything.
RETENTION = "100y"
LOG_TAIL = 2000  # characters of the server log quoted when it fails to start


class PrometheusNotInstalled(MetricsError):
    """The `prometheus` (or `promtool`) binary is not on PATH."""


def find_binary(name: str = "prometheus") -> str:
    """The path of `name` on PATH, or PrometheusNotInstalled with how to install it."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusNotInstalled(f"the {name} binary is not on PATH", hint=INSTALL_HINT)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def scrape_config(targets: Sequence[str], *, interval: float, job: str = "istio-mesh") -> str:
    """prometheus.yml scraping `targets` every `interval` seconds (JSON is valid YAML)."""
    seconds = f"{interval:g}s"
    config = {
        "global": {"scrape_interval": seconds, "evaluation_interval": seconds},
        "scrape_configs": [
            {
                "job_name": job,
                "scrape_interval": seconds,
                "scrape_timeout": seconds,
                "static_configs": [{"targets": list(targets)}],
            }
        ]
        if targets
        else [],
    }
    return json.dumps(config, indent=2) + "\n"


class LocalPrometheus:
    """One Prometheus process on 127.0.0.1 with its own config and data directory."""

    def __init__(
        self,
        *,
        targets: Sequence[str] = (),
        scrape_interval: float = 1.0,
        data_dir: str | os.PathLike | None = None,
        binary: str | None = None,
    ) -> None:
        self.targets = list(targets)
        self.scrape_interval = scrape_interval
        self.binary = binary or find_binary("prometheus")
        self._own_dir = data_dir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="meshops-prometheus-")) if data_dir is None else Path(data_dir)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("Prometheus has not been started")
        return f"http://127.0.0.1:{self.port}"

    def client(self, *, timeout: float = 5.0) -> PrometheusClient:
        return PrometheusClient(url=self.url, timeout=timeout)

    def backfill(self, openmetrics: str) -> None:
        """Write OpenMetrics text into the TSDB as blocks; must happen before `start` (or after `stop`).

        A running server would pick new blocks up only at its next reload, about a minute later.
        """
        if self.running:
            raise RuntimeError("backfill before start(): a running Prometheus sees new blocks only a minute later")
        source = self.workdir / "backfill.om"
        source.write_text(openmetrics)
        done = subprocess.run(
            [find_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data_dir)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise MetricsError(f"promtool could not backfill: {(done.stderr or done.stdout).strip()[-LOG_TAIL:]}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, port: int | None = None) -> LocalPrometheus:
        """Start the server and wait until it is ready (a port race is retried on a new port).

        `port` starts it on that port (e.g. its previous one, to come back at the same URL after `stop`)."""
        if self.running:
            return self
        config = self.workdir / "prometheus.yml"
        config.write_text(scrape_config(self.targets, interval=self.scrape_interval))
        problem = ""
        for _attempt in range(1 if port else 3):
            self.port = port or free_port()
            self._log = open(self.workdir / "prometheus.log", "ab")
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.data_dir}",
                    f"--storage.tsdb.retention.time={RETENTION}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            problem = self._wait_ready()
            if not problem:
                return self
            self.stop(cleanup=False)
        raise MetricsError(f"Prometheus did not start: {problem}", hint=f"see {self.workdir / 'prometheus.log'}")

    def _wait_ready(self) -> str:
        """'' once /-/ready answers 200, else why not (the process exited, or time ran out)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"exited with code {self.process.returncode}: {self.log_tail()}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return ""
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        return f"not ready after {READY_TIMEOUT:g}s: {self.log_tail()}"

    def log_tail(self) -> str:
        log = self.workdir / "prometheus.log"
        return log.read_text(errors="replace")[-LOG_TAIL:] if log.exists() else ""

    def wait_for_series(
        self,
        query: str,
        *,
        timeout: float = 30.0,
        at: float | None = None,
        ready: Callable[[QueryResult], bool] | None = None,
    ) -> QueryResult:
        """Poll `query` until it returns data (or `ready(result)` says so); MetricsError on timeout."""
        client = self.client()
        deadline = time.monotonic() + timeout
        while True:
            result = client.query(query, at=at)
            if (ready(result) if ready else (result.ok and result.samples)):
                return result
            if time.monotonic() >= deadline:
                why = result.reason or f"{len(result.samples)} series"
                raise MetricsError(f"no usable result for {query!r} after {timeout:g}s: {why}")
            time.sleep(0.1)

    def stop(self, *, cleanup: bool = True) -> None:
        """Terminate (then kill) the server; with `cleanup`, remove the directory it created."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if cleanup and self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalPrometheus:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
