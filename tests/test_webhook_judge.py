"""What the webhook endpoint answers, delivery by delivery (the decision alone, no HTTP, no cluster)."""
from __future__ import annotations

import hashlib
import hmac
import json
from email.message import Message

import pytest

from meshops.webhook.push import normalize_url, same_repository, read_push
from meshops.webhook.metrics import Metrics
from meshops.webhook.body import ReceivedBody
from meshops.webhook.server import DeliveryLog, Hooks, judge

SECRET = b"s3cret-for-tests"
REPO = "https://github.com/acme/mesh-config.git"


def push_body(ref: str = "refs/heads/main", after: str = "a" * 40, **repository) -> bytes:
    repository = repository or {"clone_url": REPO, "ssh_url": "git@github.com:acme/mesh-config.git"}
    return json.dumps({"ref": ref, "after": after, "repository": repository}).encode()


def headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def github(body: bytes, *, event: str = "push", delivery: str = "d-1", secret: bytes = SECRET) -> Message:
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return headers(X_GitHub_Event=event, X_GitHub_Delivery=delivery, X_Hub_Signature_256=signature,
                   Content_Type="application/json")


@pytest.fixture
def endpoint():
    accepted: list[tuple[str, str]] = []
    hooks = Hooks(secret=SECRET, repo=REPO, branch="main", metrics=Metrics(),
                  on_push=lambda push, delivery: accepted.append((push.after, delivery)))
    deliveries = DeliveryLog()

    def send(body: bytes, message: Message):
        return judge(hooks, deliveries, headers=message, body=ReceivedBody.of(body, secret=SECRET))

    send.accepted = accepted
    send.hooks = hooks
    return send


def test_a_signed_github_push_to_the_branch_is_accepted(endpoint):
    body = push_body()
    answer = endpoint(body, github(body))
    assert (answer.status, answer.result) == (202, "accepted")
    assert endpoint.accepted == [("a" * 40, "d-1")]


@pytest.mark.parametrize("make_headers, status, result", [
    (lambda body: headers(X_GitHub_Event="push", X_GitHub_Delivery="d"), 401, "unauthorized"),
    (lambda body: github(body, secret=b"wrong"), 403, "bad_signature"),
    (lambda body: headers(X_GitHub_Event="push", X_Hub_Signature_256="sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()), 403, "bad_signature"),
    (lambda body: headers(X_GitHub_Event="push", X_Hub_Signature="sha1=" + hmac.new(SECRET, body, hashlib.sha1).hexdigest()), 401, "unauthorized"),
    (lambda body: headers(X_Gitlab_Event="Push Hook", X_Gitlab_Token="guess"), 403, "bad_signature"),
    (lambda body: headers(X_Gitea_Event="push", X_Gitea_Signature="00" * 32), 403, "bad_signature"),
])
def test_unsigned_or_wrongly_signed_deliveries_are_refused(endpoint, make_headers, status, result):
    body = push_body()
    answer = endpoint(body, make_headers(body))
    assert (answer.status, answer.result) == (status, result) and answer.log_it
    assert endpoint.accepted == []


def test_a_signature_over_another_body_does_not_verify(endpoint):
    answer = endpoint(push_body(after="b" * 40), github(push_body()))
    assert answer.status == 403 and endpoint.accepted == []


def test_gitlab_token_and_gitea_signature_styles_are_accepted(endpoint):
    gitlab_body = json.dumps({"ref": "refs/heads/main", "after": "c" * 40,
                              "project": {"git_http_url": "https://github.com/acme/mesh-config.git"}}).encode()
    gitea_body = push_body(after="d" * 40)
    gitlab = endpoint(gitlab_body, headers(X_Gitlab_Event="Push Hook", X_Gitlab_Token=SECRET.decode(), X_Gitlab_Event_UUID="gl-1"))
    gitea = endpoint(gitea_body, headers(X_Gitea_Event="push", X_Gitea_Delivery="gt-1",
                                         X_Gitea_Signature=hmac.new(SECRET, gitea_body, hashlib.sha256).hexdigest()))
    assert (gitlab.status, gitlab.provider) == (202, "gitlab") and (gitea.status, gitea.provider) == (202, "gitea")
    assert endpoint.accepted == [("c" * 40, "gl-1"), ("d" * 40, "gt-1")]


def test_a_signed_body_that_is_not_json_is_a_bad_request(endpoint):
    answer = endpoint(b"ref=refs/heads/main", github(b"ref=refs/heads/main"))
    assert (answer.status, answer.result) == (400, "bad_payload")


def test_github_form_encoded_payloads_are_read():
    from urllib.parse import quote

    body = b"payload=" + quote(push_body()).encode()
    message = github(body)
    message.replace_header("Content-Type", "application/x-www-form-urlencoded")
    accepted = []
    hooks = Hooks(secret=SECRET, repo=REPO, branch="main", metrics=Metrics(), on_push=lambda p, d: accepted.append(p.after))
    assert judge(hooks, DeliveryLog(), headers=message, body=ReceivedBody.of(body, secret=SECRET)).status == 202
    assert accepted == ["a" * 40]


@pytest.mark.parametrize("body, event, reason", [
    (push_body(ref="refs/heads/feature"), "push", "push to refs/heads/feature, not refs/heads/main"),
    (push_body(ref="refs/tags/v1"), "push", "push to refs/tags/v1, not refs/heads/main"),
    (push_body(after="0" * 40), "push", "branch main was deleted"),
    (push_body(clone_url="https://github.com/acme/other.git"), "push", "push to another repository"),
    (push_body(), "pull_request", "event 'pull_request' is not a push"),
])
def test_other_branches_events_deletions_and_repositories_are_ignored_with_a_reason(endpoint, body, event, reason):
    answer = endpoint(body, github(body, event=event))
    assert answer.status == 200 and answer.result == "ignored" and reason in answer.reason
    assert endpoint.accepted == []


def test_a_ping_is_answered(endpoint):
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    assert (endpoint(body, github(body, event="ping")).result) == "ping"


def test_a_replayed_delivery_id_is_acknowledged_once_and_ignored(endpoint):
    body = push_body()
    first, again = endpoint(body, github(body, delivery="same")), endpoint(body, github(body, delivery="same"))
    assert (first.status, again.status, again.result) == (202, 200, "duplicate")
    assert len(endpoint.accepted) == 1


def test_a_replica_that_does_not_lead_refuses_pushes_without_remembering_them():
    accepted, leading = [], []
    hooks = Hooks(secret=SECRET, repo=REPO, branch="main", metrics=Metrics(), on_push=lambda p, d: accepted.append(d),
                  refusing=lambda: None if leading else "not the leader (pod-a is)")
    deliveries = DeliveryLog()
    body = push_body()
    received = ReceivedBody.of(body, secret=SECRET)
    refused = judge(hooks, deliveries, headers=github(body, delivery="x"), body=received)
    leading.append(True)
    retried = judge(hooks, deliveries, headers=github(body, delivery="x"), body=received)
    assert (refused.status, retried.status) == (503, 202) and accepted == ["x"]


def test_webhooks_are_off_without_a_secret():
    hooks = Hooks(secret=None, repo=REPO, branch="main", metrics=Metrics(), on_push=lambda p, d: None)
    body = push_body()
    assert judge(hooks, DeliveryLog(), headers=github(body), body=ReceivedBody.of(body, secret=None)).status == 404


@pytest.mark.parametrize("url", [
    "https://github.com/acme/mesh-config.git", "https://x-token:abc@GitHub.com/acme/mesh-config/",
    "git@github.com:acme/mesh-config.git", "ssh://git@github.com/acme/mesh-config", "http://github.com/acme/mesh-config",
])
def test_repository_urls_match_across_schemes_and_credentials(url):
    assert normalize_url(url) == "github.com/acme/mesh-config"


def test_local_and_file_urls_name_the_same_repository(tmp_path):
    bare = tmp_path / "origin.git"
    bare.mkdir()
    push = read_push("push", {"ref": "refs/heads/main", "after": "a" * 40, "repository": {"clone_url": f"file://{bare}"}})
    assert same_repository(str(bare), push) and same_repository(f"file://{bare}/", push)
    assert not same_repository(str(tmp_path / "other.git"), push)
