"""The webhook endpoint against hostile network peers, and liveness of a stuck worker (issue 12, items 5 and 4).

`meshops serve` runs as a subprocess (the real CLI) and the test talks to it over real sockets:
half-sent requests, bodies over the limit, unsigned and wrongly signed bodies, clients that drop
the connection, replays under a fresh delivery id. What the server spends is read from
`/proc/<pid>/status` (threads, peak RSS), what it prints from its stderr.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers import Background, commit_and_push, http

SECRET = b"hostile-webhook-test-secret"
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 8
# Concurrent clients in the memory tests: under the cap, with room for handler threads still closing.
CLIENTS = MAX_CONNECTIONS // 2
MiB = 1024 * 1024


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook-secret"
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture
def endpoint(tmp_path: Path, secret_file: Path):
    """`meshops serve` with short deadlines and a small connection cap; nothing it accepts can reconcile."""
    process = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(secret_file),
                         "--repo", str(tmp_path / "no-such-repo"), "--branch", "main", "--env", "dev",
                         "--header-timeout", f"{HEADER_TIMEOUT}s", "--body-timeout", f"{BODY_TIMEOUT}s",
                         "--max-connections", str(MAX_CONNECTIONS))
    found = process.wait_for(r"listening on http://(127\.0\.0\.1):(\d+)")
    process.address = (found.group(1), int(found.group(2)))
    process.url = f"http://{found.group(1)}:{found.group(2)}"
    yield process
    process.stop()


def status_of(process: Background, field: str) -> int:
    """A number from /proc/<pid>/status (`Threads`, `VmHWM` in kB …)."""
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise AssertionError(f"no {field} in /proc status")


def push_body(*, ref: str = "refs/heads/other", padding: int = 0) -> bytes:
    """A push payload (to a branch serve ignores, so nothing reconciles), padded to a size."""
    body = json.dumps({"ref": ref, "after": "a" * 40, "repository": {"clone_url": "https://example.com/r.git"},
                       "padding": "x" * padding}).encode()
    return body


def signed_headers(body: bytes, *, delivery: str, secret: bytes = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}


def request_head(headers: dict[str, str], length: int) -> bytes:
    lines = ["POST /webhook HTTP/1.1", "Host: meshops", f"Content-Length: {length}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(address, headers: dict[str, str], body: bytes) -> int | None:
    """Send a request over a raw socket; its status, or None when the server reset the connection first.

    The body goes out after the headers; an answer the server gives before reading it (401, 413)
    is read as soon as it arrives, as a real client would.
    """
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request_head(headers, len(body)))
        try:
            sock.settimeout(0.3)
            early = sock.recv(4096)
        except TimeoutError:
            early = b""
        sock.settimeout(10)
        answer = early
        if not early:
            try:
                sock.sendall(body)
                answer = sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                return None
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def peak_growth_kb(endpoint, requests: list[tuple[dict[str, str], bytes]]) -> tuple[int, list[int | None]]:
    """Peak-RSS growth (kB) of the server while it answers `requests`, CLIENTS at a time."""
    exchange(endpoint.address, *requests[0])  # warm-up: code paths, a first spool
    before = status_of(endpoint, "VmHWM")
    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(lambda request: exchange(endpoint.address, *request), requests))
    return status_of(endpoint, "VmHWM") - before, statuses


def test_half_sent_requests_are_dropped_after_the_header_timeout_and_never_hold_more_threads_than_the_cap(endpoint):
    assert http("GET", endpoint.url + "/healthz")[0] == 200
    baseline = status_of(endpoint, "Threads")
    sockets = [socket.create_connection(endpoint.address, timeout=10) for _ in range(50)]
    for sock in sockets:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: meshops\r\nContent-Length: 10\r\n")  # headers never end
    time.sleep(0.3)
    assert status_of(endpoint, "Threads") <= baseline + MAX_CONNECTIONS
    started = time.monotonic()
    for sock in sockets:
        sock.settimeout(HEADER_TIMEOUT + 5)
        while sock.recv(4096):  # the turned-away get a 503 first; everyone gets the end of the stream
            pass
        sock.close()
    assert time.monotonic() - started < HEADER_TIMEOUT + 3
    deadline = time.monotonic() + 5
    while status_of(endpoint, "Threads") > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status_of(endpoint, "Threads") <= baseline
    assert http("GET", endpoint.url + "/healthz")[0] == 200


def test_a_body_that_stops_arriving_is_dropped_after_the_body_timeout(endpoint):
    body = push_body()
    with socket.create_connection(endpoint.address, timeout=10) as sock:
        sock.sendall(request_head(signed_headers(body, delivery="slow"), len(body)) + body[:10])
        started = time.monotonic()
        assert sock.recv(4096) == b""  # closed without an answer: the rest never came
        assert BODY_TIMEOUT - 0.5 < time.monotonic() - started < BODY_TIMEOUT + 3


def test_forty_unsigned_five_megabyte_bodies_are_refused_unread(endpoint):
    body = b"x" * 5_000_000
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "unsigned"}
    growth, statuses = peak_growth_kb(endpoint, [(headers, body)] * 40)
    assert set(statuses) <= {401, None} and 401 in statuses
    assert growth < 5_000  # kB: less than one body


def test_wrongly_signed_bodies_are_hashed_as_they_arrive_without_holding_them_in_memory(endpoint):
    body = push_body(padding=4 * MiB)
    headers = signed_headers(body, delivery="forged", secret=b"not-the-secret")
    growth, statuses = peak_growth_kb(endpoint, [(headers, body)] * 16)
    assert statuses == [403] * 16
    assert growth < 4 * 1024  # kB: less than one body, though four were read at once


def test_a_body_over_the_limit_gets_413_unread(endpoint):
    headers = signed_headers(b"", delivery="huge")
    growth, statuses = peak_growth_kb(endpoint, [(headers, b"x" * (30 * MiB))] * 4)
    assert set(statuses) <= {413, None} and 413 in statuses
    assert growth < 30 * 1024


def test_a_signed_body_up_to_githubs_25_megabytes_is_read(endpoint):
    body = push_body(padding=20 * MiB)
    assert exchange(endpoint.address, signed_headers(body, delivery="big"), body) == 200  # another branch: ignored


def test_a_replay_under_a_fresh_delivery_id_is_recognised_by_its_body(endpoint):
    body = push_body()
    first = http("POST", endpoint.url + "/webhook", body=body, headers=signed_headers(body, delivery="one"))
    again = http("POST", endpoint.url + "/webhook", body=body, headers=signed_headers(body, delivery="two"))
    assert (first[0], json.loads(first[1])["status"]) == (200, "ignored")
    assert (again[0], json.loads(again[1])["status"]) == (200, "duplicate")


def test_clients_that_go_away_mid_request_print_nothing(endpoint):
    body = push_body(padding=1 * MiB)
    for cut in (10, len(body) // 2):  # in the headers, in the body
        with socket.create_connection(endpoint.address, timeout=10) as sock:
            sock.sendall((request_head(signed_headers(body, delivery=f"gone-{cut}"), len(body)) + body)[:cut])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    with socket.create_connection(endpoint.address, timeout=10) as sock:  # asks, then leaves before the answer
        sock.sendall(request_head(signed_headers(body, delivery="gone-late"), len(body)) + body)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(1.0)
    assert http("GET", endpoint.url + "/healthz")[0] == 200
    assert endpoint.lines == [endpoint.lines[0]] and "listening on" in endpoint.lines[0], endpoint.output


# -- item 4: /healthz reflects the worker's progress ----------------------------------------------------


def test_healthz_fails_while_a_reconcile_makes_no_progress_and_recovers_after(mesh_sandbox, team_repo, origin, secret_file,
                                                                             tmp_path):
    slow = ("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n  namespace: team-dev\n"
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n")
    head = commit_and_push(team_repo, {"templates/slow.yaml.j2": slow}, "a template that never ends")
    serve = Background("serve", "--listen", "127.0.0.1:0", "--webhook-secret-file", str(secret_file),
                       "--repo", f"file://{origin}", "--branch", "main", "--env", "dev", "--cache-dir", str(tmp_path / "cache"),
                       "--kubeconfig", str(mesh_sandbox.kubeconfig), "--context", "sandbox",
                       "--render-timeout", "8s", "--stall-timeout", "2s")
    try:
        url = serve.wait_for(r"listening on (http://127\.0\.0\.1:\d+)").group(1)
        body = json.dumps({"ref": "refs/heads/main", "after": head, "repository": {"clone_url": f"file://{origin}"}}).encode()
        assert http("POST", url + "/webhook", body=body, headers=signed_headers(body, delivery="slow-push"))[0] == 202
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (seen and seen[-1][0] == 200 and any(s == 503 for s, _ in seen)):
            status, answer = http("GET", url + "/healthz")
            seen.append((status, json.loads(answer)))
            time.sleep(0.2)
        stuck = [answer for status, answer in seen if status == 503]
        assert stuck and "no progress" in stuck[0]["reason"], seen
        assert seen[-1][0] == 200, seen
        serve.wait_for(r"templates/slow\.yaml\.j2:7: rendering took longer than the render budget of 8 s")
        assert not [entry for entry in mesh_sandbox.server.log.entries() if entry.verb in ("create", "update", "patch", "delete")
                    and entry.resource != "leases"]
    finally:
        serve.stop()
