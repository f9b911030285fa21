"""Helpers the tests share (importable as `helpers`: pytest puts tests/ on sys.path)."""
from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    """The team's shared test data (upstream CRDs, the seed article): $MESHOPS_SHARED_DIR, else the
    nearest `shared/` folder beside the checkout or beside one of its parents. Tests that need it
    skip with a reason when there is none."""
    candidates = [os.environ.get("MESHOPS_SHARED_DIR")] + [folder / "shared" for folder in REPO_ROOT.parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "istio").is_dir():
            return Path(candidate)
    return REPO_ROOT.parent / "shared"


SHARED = _shared_dir()
ISTIO_CRDS = SHARED / "istio" / "crd-all.gen.yaml"
GATEWAY_API_CRDS = SHARED / "gateway-api"  # the standard-channel CRDs, one file per kind
SEED_DIR = SHARED / "seed"


def copy_example_repo(target: Path, *, committed: bool = False) -> Path:
    """Copy the example config repo (environments/ + templates/) to `target`; `committed`: as a git repository
    with one commit (what meshops takes the default owner id from: the root commit)."""
    target.mkdir(parents=True, exist_ok=True)
    for part in ("environments", "templates"):
        shutil.copytree(REPO_ROOT / part, target / part)
    if committed:
        commit_all(target, "example config")
    return target


def run_meshops(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120,
                memory_limit: int | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would), capturing text output.

    `memory_limit` caps the subprocess's address space (bytes), so a memory blow-up fails fast.
    """
    full_env = dict(os.environ)
    full_env.pop("MESHOPS_DEBUG", None)
    full_env.update(env or {})

    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [sys.executable, "-m", "meshops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_memory if memory_limit else None,
    )


def _team_env(namespace: str, after: str | None) -> str:
    promotion = f"promotion: {{after: {after}}}\n" if after else "promotion: {order: 1}\n"
    return f"namespace: {namespace}\ncluster: {{context: sandbox}}\n{promotion}"


# A config repo small enough to reconcile three environments into one sandbox without clashes.
TEAM_REPO_FILES = {
    "environments/base/values.yaml": "message: hello\n",
    **{f"environments/{env}/values.yaml": "{}\n" for env in ("dev", "staging", "prod")},
    "environments/dev/meshops.yaml": _team_env("team-dev", None),
    "environments/staging/meshops.yaml": _team_env("team-staging", "dev"),
    "environments/prod/meshops.yaml": _team_env("team-prod", "staging"),
    "templates/settings.yaml.j2": (
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ environment.namespace }}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {{ environment.namespace }}\n"
        "data:\n  message: {{ values.message | to_json }}\n"
    ),
}


def commit_and_push(repo, changes: dict[str, str], message: str, *, branch: str = "main") -> str:
    """Write files (repo-relative path -> text), commit them, push `branch` to origin; the new sha."""
    root = Path(repo.working_tree_dir)
    for name, text in changes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    repo.git.add(A=True)
    commit = repo.index.commit(message)
    repo.remote("origin").push(f"HEAD:refs/heads/{branch}")
    return commit.hexsha


class Background:
    """A meshops subprocess (serve, controller) whose stderr lines are collected as they come."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        import threading

        full_env = dict(os.environ)
        full_env.pop("MESHOPS_DEBUG", None)
        full_env.update(env or {})
        self.process = subprocess.Popen([sys.executable, "-m", "meshops", *args], env=full_env, text=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 30.0):
        """The first match of the regex `pattern` in the output, waiting for it to appear."""
        import re
        import time

        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        with self._changed:
            while True:
                for line in self.lines:
                    found = regex.search(line)
                    if found:
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.lines))
                self._changed.wait(min(left, 0.2))

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, then SIGKILL if it lingers; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return self.process.returncode

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def http(method: str, url: str, *, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """One HTTP request with the standard library; (status, body) also for 4xx/5xx answers."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# -- meshops command lines written in other files (workflows, manifests) -------------------------------

_REDIRECT = re.compile(r"^\d?>>?|^<|^\d?>&\d$")


def meshops_invocations(script: str) -> list[list[str]]:
    """The argument lists of every `meshops ...` command in a shell script (`$(...)` included)."""
    text = re.sub(r"\$\{\{.*?\}\}", "EXPR", script).replace("\\\n", " ")
    invocations = []
    for line in text.splitlines():
        for part in re.split(r"&&|\|\||;|\||\$\(|`|\)", line):
            try:
                tokens = shlex.split(part, comments=True)
            except ValueError:  # a quote opened before `$(` and closed after it
                tokens = part.split()
            while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
                tokens.pop(0)  # VAR=value prefixes
            if tokens and tokens[0] == "meshops":
                cut = next((i for i, token in enumerate(tokens) if _REDIRECT.match(token)), len(tokens))
                invocations.append(tokens[:cut])
    return invocations


def check_invocation(tokens: list[str]) -> str:
    """Walk the click command tree; return the command path, or fail naming what does not exist."""
    import click

    from meshops.cli import cli

    command: click.Command = cli
    path = ["meshops"]
    args = tokens[1:]
    while isinstance(command, click.Group):
        assert args, f"`{' '.join(path)}` needs a subcommand"
        name = args.pop(0)
        assert name in command.commands, f"`{' '.join(path)} {name}`: no such command (known: {', '.join(sorted(command.commands))})"
        command = command.commands[name]
        path.append(name)
    options = {opt: param for param in command.params if isinstance(param, click.Option)
               for opt in (*param.opts, *param.secondary_opts)}
    index = 0
    while index < len(args):
        token = args[index]
        if token.startswith("-"):
            name, has_value, value = token.partition("=")
            assert name in options, f"`{' '.join(path)}` has no option {name}"
            param = options[name]
            if not param.is_flag and not has_value:
                index += 1
                assert index < len(args), f"`{' '.join(path)} {name}` needs a value"
                value = args[index]
            if isinstance(param.type, click.Choice) and "EXPR" not in value and "$" not in value:
                assert value in param.type.choices, f"`{' '.join(path)} {name} {value}`: not one of {param.type.choices}"
        index += 1
    return " ".join(path)


def signed_push(*, origin: Path, after: str, delivery_id: str, secret: str, ref: str = "refs/heads/main") -> tuple[bytes, dict[str, str]]:
    """A GitHub push delivery for `origin` at `after`, signed with `secret` (body, headers)."""
    import hashlib
    import hmac
    import json

    body = json.dumps({"ref": ref, "after": after, "repository": {"clone_url": f"file://{origin}"}}).encode()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": delivery_id,
                  "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def commit_all(root: Path, message: str):
    """Commit everything under `root` (a git repository is made there first when there is none); the repo."""
    import git

    repo = git.Repo(root) if (root / ".git").exists() else git.Repo.init(root, initial_branch="main")
    with repo.config_writer() as writer:
        writer.set_value("user", "name", "meshops tests")
        writer.set_value("user", "email", "tests@meshops.dev")
    repo.git.add(A=True)
    repo.index.commit(message)
    return repo


def replaced(obj: dict, path: tuple, value) -> dict:
    """A deep copy of `obj` with the value at `path` (keys and list indexes) set to `value`."""
    result = copy.deepcopy(obj)
    target = result
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return result


KUBECTL = Path("/usr/bin/kubectl")  # the real kubectl (Debian's), run against the sandbox


class Kubectl:
    """The real kubectl with one kubeconfig, as a person runs it."""

    def __init__(self, kubeconfig: Path, tmp_path: Path) -> None:
        self.base = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache")]
        self.tmp_path = tmp_path

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=120)

    def write(self, name: str, *documents: dict) -> str:
        from meshops.yamlio.documents import dump_all

        path = self.tmp_path / name
        path.write_text(dump_all(documents))
        return str(path)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run kubectl and insist that it succeeded."""
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return result

    def apply(self, *documents: dict, server_side: bool = False) -> None:
        """`kubectl apply -f` the documents (client-side, or `--server-side`: field manager kubectl)."""
        self.run("apply", "-f", self.write("kubectl-input.yaml", *documents), *(["--server-side"] if server_side else []))
