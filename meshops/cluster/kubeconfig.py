"""Reading a kubeconfig: which server, which credentials, without importing the kubernetes client.

The official client's loader lives in a package whose import pulls in every generated API and
model (about 0.2-0.3 s, the largest part of a `meshops diff`), only to read a small YAML file.
This module reads the file itself with libyaml and resolves one context the way kubectl does:
several files (`KUBECONFIG=a:b`) merge with the first definition of a name winning and the first
`current-context` set winning; relative paths are relative to the file that names them.

What it hands on is a `ClusterAccess`: server, TLS settings and one way to authenticate (token,
token file, client certificate, basic auth, or an exec plugin run later by `cluster.transport`).
The legacy `auth-provider` plugins (gcp, oidc, azure) are `needs_full_client`: `cluster.connect`
hands those kubeconfigs to the official loader instead, so nothing that worked before stops working.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..model.errors import ClusterError

DEFAULT_KUBECONFIG = "~/.kube/config"


@dataclass(frozen=True)
class FileOrData:
    """A PEM (or token) given inline (`…-data`, base64) or as a path; `data` wins, as in kubectl."""

    data: bytes | None = None
    path: str | None = None

    @property
    def given(self) -> bool:
        return self.data is not None or self.path is not None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        with open(self.path, "rb") as handle:
            return handle.read()


@dataclass(frozen=True)
class ClusterAccess:
    """One resolved context: where the API server is and how to prove who we are."""

    context: str
    server: str
    files: tuple[str, ...]  # the kubeconfig files it was read from, for messages
    certificate_authority: FileOrData = FileOrData()
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    client_certificate: FileOrData = FileOrData()
    client_key: FileOrData = FileOrData()
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec_config: dict[str, Any] | None = None
    exec_base_path: str = ""  # the directory of the kubeconfig that defines the user (the plugin's cwd)
    cluster_info: dict[str, Any] = field(default_factory=dict)  # for exec plugins that ask for it
    needs_full_client: bool = False  # an auth-provider plugin: only the official loader knows those

    @property
    def label(self) -> str:
        return f"context {self.context} at {self.server}"


def kubeconfig_files(explicit: str | None) -> list[str]:
    """The files to read: the one given, else `$KUBECONFIG` (a path list), else `~/.kube/config`."""
    if explicit:
        return [os.path.expanduser(explicit)]
    from_env = os.environ.get("KUBECONFIG")
    if from_env:
        return [os.path.expanduser(part) for part in from_env.split(os.pathsep) if part]
    return [os.path.expanduser(DEFAULT_KUBECONFIG)]


def _problem(files: list[str], what: str) -> ClusterError:
    return ClusterError(f"cannot read kubeconfig {', '.join(files)}: {what}", hint="check the file with `kubectl config view`")


def _load(path: str, files: list[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = yaml.load(handle.read(), Loader=yaml.CSafeLoader)  # noqa: S506 - the safe C loader
    except OSError as error:
        raise _problem(files, error.strerror or str(error)) from None
    except yaml.YAMLError as error:
        raise _problem(files, f"invalid YAML: {getattr(error, 'problem', None) or error}") from None
    if data is None:
        raise _problem(files, f"{path} is empty")
    if not isinstance(data, dict):
        raise _problem(files, f"{path} is not a mapping")
    return data


@dataclass
class _Merged:
    """Named entries of every file, first definition winning, each with the directory it came from."""

    entries: dict[str, dict[str, tuple[dict[str, Any], str]]] = field(
        default_factory=lambda: {"clusters": {}, "users": {}, "contexts": {}})
    current_context: str | None = None

    def add(self, data: dict[str, Any], path: str, files: list[str]) -> None:
        base = os.path.dirname(os.path.abspath(path))
        for section, named in self.entries.items():
            items = data.get(section) or []
            if not isinstance(items, list):
                raise _problem(files, f"{section} in {path} is not a list")
            for item in items:
                if not isinstance(item, dict) or "name" not in item:
                    raise _problem(files, f"every entry of {section} in {path} needs a name")
                named.setdefault(str(item["name"]), (item, base))
        if not self.current_context and data.get("current-context"):
            self.current_context = str(data["current-context"])

    def get(self, section: str, name: str, files: list[str]) -> tuple[dict[str, Any], str]:
        found = self.entries[section].get(name)
        if found is None:
            raise _problem(files, f"{section[:-1]} {name!r} is not defined")
        entry, base = found
        body = entry.get(section[:-1]) or {}
        if not isinstance(body, dict):
            raise _problem(files, f"{section[:-1]} {name!r} is not a mapping")
        return body, base


def read_contexts(files: list[str]) -> _Merged:
    """Every context, cluster and user of the existing `files`, merged as kubectl merges them."""
    merged = _Merged()
    for path in files:
        merged.add(_load(path, files), path, files)
    return merged


def _relative(base: str, path: Any) -> str | None:
    if not path:
        return None
    expanded = os.path.expanduser(str(path))
    return os.path.normpath(os.path.join(base, expanded))


def _file_or_data(section: dict[str, Any], key: str, base: str, files: list[str]) -> FileOrData:
    data = section.get(f"{key}-data")
    if data:
        try:
            return FileOrData(data=base64.b64decode(str(data), validate=True))
        except (binascii.Error, ValueError):
            raise _problem(files, f"{key}-data is not base64") from None
    return FileOrData(path=_relative(base, section.get(key)))


def resolve(files: list[str], context: str | None) -> ClusterAccess:
    """The `ClusterAccess` of `context` (None: the current context) in the existing `files`."""
    merged = read_contexts(files)
    name = context or merged.current_context
    if not name:
        raise ClusterError(f"kubeconfig {', '.join(files)} has no current-context",
                           hint="pass --context NAME or set current-context in the kubeconfig")
    if name not in merged.entries["contexts"]:
        raise ClusterError(
            f"context {name!r} is not in kubeconfig {', '.join(files)}",
            hint="known contexts: " + (", ".join(merged.entries["contexts"]) or "none"),
        )
    context_body, _ = merged.get("contexts", name, files)
    cluster, cluster_base = merged.get("clusters", str(context_body.get("cluster") or ""), files)
    user_name = context_body.get("user")
    user, user_base = merged.get("users", str(user_name), files) if user_name else ({}, cluster_base)
    server = str(cluster.get("server") or "").rstrip("/")
    if not server:
        raise _problem(files, f"cluster {context_body.get('cluster')!r} has no server")
    return ClusterAccess(
        context=name,
        server=server,
        files=tuple(files),
        certificate_authority=_file_or_data(cluster, "certificate-authority", cluster_base, files),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        proxy_url=cluster.get("proxy-url") or None,
        client_certificate=_file_or_data(user, "client-certificate", user_base, files),
        client_key=_file_or_data(user, "client-key", user_base, files),
        token=str(user["token"]) if user.get("token") else None,
        token_file=_relative(user_base, user.get("tokenFile")),
        username=user.get("username"),
        password=user.get("password"),
        exec_config=user.get("exec") if isinstance(user.get("exec"), dict) else None,
        exec_base_path=user_base,
        cluster_info=cluster,
        needs_full_client="auth-provider" in user,
    )
