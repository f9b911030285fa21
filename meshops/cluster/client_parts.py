"""The few modules of the official `kubernetes` client that carry requests, imported on their own.

`import kubernetes` runs the package's `__init__`, which imports the client, the kubeconfig loader,
watch, stream, dynamic, informer and leader election — hundreds of modules, about 0.2-0.3 s, the
largest part of a short `meshops diff`. Sending a request needs three small modules: the client's
`Configuration` (TLS, proxy, api keys), `rest.RESTClientObject` (the urllib3 pool built from it)
and, for exec plugins, `config.exec_provider`. `load()` imports just those by name, with the parent
packages stood in for while they load; the stand-ins are removed afterwards, so a later
`import kubernetes` (the generated API classes some commands use) runs the real package `__init__`
and finds these very modules (same classes) already loaded. Any surprise falls back to the
ordinary full import.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from dataclasses import dataclass

# The parent packages whose `__init__` would import everything, and the light modules we need.
_PARENTS = ("kubernetes", "kubernetes.client", "kubernetes.config", "kubernetes.utils")
_MODULES = ("kubernetes.client.configuration", "kubernetes.client.rest", "kubernetes.config.exec_provider",
            "kubernetes.config.config_exception")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ClientParts:
    """The client's own classes for configuration, the HTTP pool and exec credential plugins."""

    Configuration: type
    RESTClientObject: type
    ExecProvider: type
    ConfigException: type


def _full() -> ClientParts:
    from kubernetes.client import Configuration, rest
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.exec_provider import ExecProvider

    return ClientParts(Configuration, rest.RESTClientObject, ExecProvider, ConfigException)


def _light() -> ClientParts | None:
    spec = importlib.util.find_spec("kubernetes")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = list(spec.submodule_search_locations)[0]
    stand_ins = {}
    for name in _PARENTS:
        stand_in = types.ModuleType(name)
        stand_in.__path__ = [root + name[len("kubernetes"):].replace(".", "/")]  # type: ignore[attr-defined]
        stand_in.__package__ = name
        stand_ins[name] = stand_in
    sys.modules.update(stand_ins)
    try:
        modules = {name: importlib.import_module(name) for name in _MODULES}
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return ClientParts(
        modules["kubernetes.client.configuration"].Configuration,
        modules["kubernetes.client.rest"].RESTClientObject,
        modules["kubernetes.config.exec_provider"].ExecProvider,
        modules["kubernetes.config.config_exception"].ConfigException,
    )


def load() -> ClientParts:
    """The client's transport classes: from the already imported package, else imported alone."""
    with _LOCK:
        if "kubernetes" in sys.modules:
            return _full()
        try:
            parts = _light()
        except Exception:  # noqa: BLE001 - another layout of the package: import it the ordinary way
            parts = None
        return parts or _full()
