"""Reconcile and webhook figures: what a push costs when most environments are unaffected.

    python benchmarks/reconcile.py [--environments 20] [--deliveries 300]

A config repo with N environments (one ConfigMap each, own namespace, a promotion chain) is pushed
to a bare repository and reconciled into the sandbox API server: first everything, then the same
revision again (nothing to do), then a commit touching one environment. For each: wall time, API
requests and writes. Then the webhook endpoint: signed deliveries answered per second (the
reconcile they queue is not counted; the worker runs it later).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_repo(root: Path, environments: int):
    import git

    work = root / "work"
    files = {"environments/base/values.yaml": "message: hello\n",
             "templates/settings.yaml.j2": ("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ environment.namespace }}\n"
                                            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
                                            "  namespace: {{ environment.namespace }}\ndata:\n  message: {{ values.message | to_json }}\n")}
    for index in range(environments):
        after = f"promotion: {{after: e{index - 1:02d}}}\n" if index else "promotion: {order: 1}\n"
        files[f"environments/e{index:02d}/meshops.yaml"] = f"namespace: team-e{index:02d}\n{after}"
        files[f"environments/e{index:02d}/values.yaml"] = "{}\n"
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    repo = git.Repo.init(work, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "bench")
        writer.set_value("user", "email", "bench@meshops.dev")
    repo.git.add(A=True)
    repo.index.commit("config")
    origin = root / "origin.git"
    git.Repo.init(origin, bare=True, initial_branch="main")
    repo.create_remote("origin", str(origin)).push("main:main")
    return repo, origin


def measure(label: str, sandbox, settings) -> None:
    from meshops.reconcile.reconciler import reconcile

    sandbox.log.clear()
    started = time.perf_counter()
    report = reconcile(settings)
    seconds = time.perf_counter() - started
    entries = sandbox.log.entries()
    writes = sum(1 for e in entries if e.verb in ("create", "update", "patch", "delete"))
    outcomes = {}
    for env in report.environments:
        outcomes[env.outcome.value] = outcomes.get(env.outcome.value, 0) + 1
    print(f"{label:<38} {seconds:7.2f} s  {len(entries):5d} requests  {writes:5d} writes  {outcomes}")


def webhook_rate(deliveries: int) -> None:
    from meshops.webhook.metrics import Metrics
    from meshops.webhook.server import Hooks, WebhookServer

    secret = b"bench-secret"
    queued = []
    server = WebhookServer("127.0.0.1", 0, Hooks(secret=secret, repo="https://example.com/config.git", branch="main",
                                                 metrics=Metrics(), on_push=lambda push, delivery: queued.append(delivery))).start()
    try:
        started = time.perf_counter()
        for index in range(deliveries):
            body = json.dumps({"ref": "refs/heads/main", "after": f"{index + 1:040x}",
                               "repository": {"clone_url": "https://example.com/config.git"}}).encode()
            request = urllib.request.Request(server.address + "/webhook", data=body, method="POST", headers={
                "X-GitHub-Event": "push", "X-GitHub-Delivery": f"bench-{index}", "Content-Type": "application/json",
                "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()})
            with urllib.request.urlopen(request) as response:
                assert response.status == 202
        seconds = time.perf_counter() - started
    finally:
        server.stop()
    print(f"webhook: {deliveries} signed deliveries, one client   {seconds:7.2f} s  "
          f"{deliveries / seconds:7.0f} deliveries/s  {1000 * seconds / deliveries:.2f} ms each; {len(queued)} queued")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, default=20)
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()

    from meshops.reconcile.reconciler import Settings
    from meshops.sandbox import SandboxServer

    with tempfile.TemporaryDirectory() as tmp, SandboxServer() as sandbox:
        root = Path(tmp)
        repo, origin = make_repo(root, args.environments)
        kubeconfig = sandbox.write_kubeconfig(root / "kubeconfig")
        settings = Settings(repo=str(origin), cache_dir=str(root / "cache"), kubeconfig=str(kubeconfig), context="sandbox")
        print(f"reconcile of {args.environments} environments (bare repo -> sandbox API server)")
        measure("first reconcile (all applied)", sandbox, settings)
        measure("same revision again (all skipped)", sandbox, settings)
        target = Path(repo.working_tree_dir) / f"environments/e{args.environments - 1:02d}/values.yaml"
        target.write_text("message: last only\n")
        repo.git.add(A=True)
        repo.index.commit("last environment only")
        repo.remote("origin").push("main:main")
        measure("one environment changed (rest skipped)", sandbox, settings)
    webhook_rate(args.deliveries)


if __name__ == "__main__":
    main()
