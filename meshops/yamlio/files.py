"""YAML files an operator names on the command line (`validate -f`, `--crds`): found, read, decoded.

Not for the config repository (that is read through `meshops.source`, which keeps every read
inside the repo); these are paths a person typed. `-` is standard input, as for kubectl, so
`kustomize build overlays/prod | meshops validate -f -` works; messages call it `<stdin>`.
"""
from __future__ import annotations

import os
import sys

from ..model.errors import Location, UsageError
from .documents import Document, YamlError, load_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# The path that means standard input on the command line, and the name findings give it.
STDIN_ARGUMENT = "-"
STDIN_NAME = "<stdin>"


def yaml_files(paths: list[str]) -> list[str]:
    """The manifest files named by `paths`: files as given, directories searched recursively (sorted),
    `-` as `<stdin>` (once)."""
    found: list[str] = []
    for path in paths:
        if path == STDIN_ARGUMENT:
            if STDIN_NAME in found:
                raise UsageError("standard input (-) is named twice", hint="pass -f - once")
            found.append(STDIN_NAME)
        elif os.path.isdir(path):
            for root, directories, files in os.walk(path):
                directories[:] = sorted(d for d in directories if not d.startswith("."))
                found.extend(os.path.join(root, name) for name in sorted(files) if name.endswith(MANIFEST_SUFFIXES))
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory", hint="check the path given with -f")
    return found


def read_text(path: str) -> str:
    """The file (or standard input, for `<stdin>`) as UTF-8 text (YamlError naming the byte otherwise)."""
    if path == STDIN_NAME:
        raw = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as handle:
            raw = handle.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YamlError(f"not UTF-8 text (byte {error.start})", location=Location(path), hint="save the file as UTF-8") from None


def read_yaml_documents(path: str) -> list[Document]:
    """Every document of one file; raises YamlError on the first broken one (for files meshops needs whole)."""
    return load_documents(read_text(path), filename=path)
