"""The Prometheus client: every way a query can go wrong is its own outcome with a reason, never a traceback.

Query results come from a real Prometheus (no scrape targets: the expressions need no data). Only the
answers Prometheus itself never gives — an HTML error page, foreign JSON, silence — come from a tiny
local HTTP server or a socket that never answers.
"""
from __future__ import annotations

import http.server
import socket
import threading

import pytest

from meshops.source.envconfig import EnvConfig
from meshops.model.errors import ConfigError
from meshops.sim.prometheus import LocalPrometheus, free_port
from meshops.metrics.prometheus import PrometheusClient
from meshops.pipeline.rollouts import metrics_source
from meshops.metrics.source import QueryStatus

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def server(prometheus_binary):
    with LocalPrometheus(binary=prometheus_binary) as instance:
        yield instance


@pytest.fixture
def client(server):
    return server.client()


def test_one_number_is_ok_with_its_value(client):
    result = client.query_value("vector(42)")
    assert result.ok and result.value == 42.0 and result.reason == ""


def test_a_scalar_result_counts_as_one_number(client):
    assert client.query_value("scalar(vector(7)) * 2").value == 14.0


def test_an_empty_vector_is_no_data(client):
    result = client.query_value('istio_requests_total{destination_workload="nobody"}')
    assert result.status is QueryStatus.NO_DATA
    assert result.reason == "no data: the query returned no series"


def test_nan_is_not_a_number_and_names_both_of_its_causes(client):
    result = client.query_value("vector(0) / vector(0)")
    assert result.status is QueryStatus.NOT_A_NUMBER and result.value is None
    assert result.reason == "no usable value: the query returned NaN (a division by zero such as 0/0, or NaN samples)"


def test_infinity_is_not_a_number_either(client):
    result = client.query_value("vector(1) / vector(0)")
    assert result.status is QueryStatus.NOT_A_NUMBER
    assert "+inf" in result.reason


def test_several_series_where_one_number_was_expected_are_refused_and_listed(client):
    query = 'label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")'
    result = client.query_value(query)
    assert result.status is QueryStatus.MULTIPLE_SERIES and result.value is None
    assert result.reason.startswith("expected one number but the query returned 2 series")
    assert '{pod="a"}' in result.reason and "sum(" in result.reason


def test_several_series_are_fine_for_a_plain_query(client):
    query = 'label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")'
    result = client.query(query)
    assert result.ok and sorted(s.value for s in result.samples) == [1.0, 2.0]


def test_bad_promql_is_a_bad_query_naming_prometheus_error_and_the_query(client):
    result = client.query_value("sum(rate(istio_requests_total[1m])")
    assert result.status is QueryStatus.BAD_QUERY
    assert result.reason.startswith("Prometheus rejected the query: ")
    assert "parse error" in result.reason and result.reason.endswith("query: sum(rate(istio_requests_total[1m])")


def test_a_range_result_is_an_unexpected_type(client):
    result = client.query_value("vector(1)[1m:10s]")
    assert result.status is QueryStatus.UNEXPECTED_TYPE
    assert result.reason.startswith("the query returned a matrix")


def test_a_string_result_is_an_unexpected_type(client):
    assert client.query_value('"hello"').status is QueryStatus.UNEXPECTED_TYPE


def test_an_explicit_evaluation_time_is_sent(client):
    result = client.query_value("time()", at=1_704_067_200)
    assert result.value == 1_704_067_200.0


def test_a_fractional_timeout_is_passed_on_in_a_form_prometheus_accepts(server):
    assert PrometheusClient(url=server.url, timeout=0.5).query_value("vector(1)").value == 1.0


def test_queries_are_counted_whatever_their_outcome(client):
    before = client.query_count
    client.query_value("vector(1)")
    client.query_value("sum(")
    assert client.query_count == before + 2


def test_a_stopped_prometheus_is_unreachable_with_connection_refused(stopped_prometheus_url):
    result = PrometheusClient(url=stopped_prometheus_url).query_value("vector(1)")
    assert result.status is QueryStatus.UNREACHABLE
    assert result.reason == f"Prometheus unreachable at {stopped_prometheus_url}: connection refused"


# --- answers Prometheus never gives: a tiny local server --------------------------------------------


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status, content type and body set on the server."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, body = self.server.canned
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    """Start a local server answering `(status, content_type, body)`; yields a function returning its URL."""
    servers = []

    def serve(status: int, content_type: str, body: bytes) -> str:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
        httpd.canned = (status, content_type, body)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"


def test_an_html_error_page_from_a_proxy_is_an_http_error_quoting_the_page(canned):
    url = canned(502, "text/html", HTML)
    result = PrometheusClient(url=url).query_value("vector(1)")
    assert result.status is QueryStatus.HTTP_ERROR
    assert result.reason.startswith(f"Prometheus at {url} answered HTTP 502: <html><head><title>502 Bad Gateway")


def test_an_html_page_with_status_200_is_not_json_and_asks_whether_the_url_is_right(canned):
    url = canned(200, "text/html; charset=utf-8", b"<!doctype html><title>Grafana</title>")
    result = PrometheusClient(url=url).query_value("vector(1)")
    assert result.status is QueryStatus.NOT_JSON
    assert result.reason == f"{url} answered text/html, not JSON (<!doctype html><title>Grafana</title>); is this the Prometheus URL?"


def test_json_that_is_not_a_prometheus_response_is_a_bad_response(canned):
    url = canned(200, "application/json", b'{"message": "hello from another API"}')
    result = PrometheusClient(url=url).query_value("vector(1)")
    assert result.status is QueryStatus.BAD_RESPONSE
    assert "not a Prometheus API response" in result.reason


def test_a_success_without_a_result_type_is_a_bad_response(canned):
    url = canned(200, "application/json", b'{"status": "success", "data": {}}')
    assert PrometheusClient(url=url).query_value("vector(1)").status is QueryStatus.BAD_RESPONSE


def test_a_server_that_never_answers_is_a_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = PrometheusClient(url=url, timeout=0.5).query_value("vector(1)")
    assert result.status is QueryStatus.TIMEOUT
    assert result.reason == f"Prometheus at {url} did not answer within 0.5s"


def test_a_port_nobody_listens_on_is_unreachable():
    url = f"http://127.0.0.1:{free_port()}"
    assert PrometheusClient(url=url).query_value("vector(1)").status is QueryStatus.UNREACHABLE


def test_no_data_statuses_are_the_ones_a_policy_may_hold_on():
    assert {status for status in QueryStatus if status.no_data} == {QueryStatus.NO_DATA, QueryStatus.NOT_A_NUMBER}


# --- the client of an environment -----------------------------------------------------------------


def test_the_client_of_an_environment_uses_its_url_and_timeout():
    config = EnvConfig(name="prod", file="environments/prod/meshops.yaml",
                       data={"prometheus": {"url": "http://prometheus:9090/", "timeout": "2s"}})
    client = metrics_source(config)
    assert (client.url, client.timeout) == ("http://prometheus:9090", 2.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [({}, "prometheus.url is not set"), ({"url": "prometheus:9090"}, "is not an http(s) URL")],
)
def test_an_environment_without_a_usable_prometheus_url_is_a_config_error(section, message):
    config = EnvConfig(name="dev", file="environments/dev/meshops.yaml", data={"prometheus": section})
    with pytest.raises(ConfigError) as caught:
        metrics_source(config)
    assert message in caught.value.one_line() and "environments/dev/meshops.yaml" in caught.value.one_line()
