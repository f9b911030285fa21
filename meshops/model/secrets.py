"""Secret files: reading a secret the operator named, never showing its value.

`read_secret_file` reads a secret the operator named (a bearer token, a password, a webhook URL,
an HMAC key) and refuses files that are missing, empty, not regular files, or readable by every
user. `SecretsDir` is the operator's directory of such files (a mounted Kubernetes Secret); the
config repo may name a *key* in it, never a path, so an untrusted repo can only choose among the
secrets the operator handed to meshops. Errors name the file or the key, never the value;
masking URLs in text is `model.masking`.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

# Secrets are small (a token, a password, a URL); anything bigger is the wrong file.
MAX_SECRET_BYTES = 64 * 1024
# A key of the secrets directory: a file name as Kubernetes Secret keys allow, no path, not hidden.
_SECRET_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


class SecretError(UsageError):
    """A secret the operator named cannot be used (missing, empty, readable by everyone …)."""


def read_secret_file(path: str | os.PathLike, *, what: str, shown: str | None = None) -> str:
    """The stripped text of secret file `path`; SecretError naming `what` (never the value) otherwise.

    `shown` is how messages name the file (default: `path`)."""
    shown = shown or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SecretError(f"{what}: {shown} does not exist", hint="check the path (mounted Secret, CI secret file)") from None
    except OSError as error:
        raise SecretError(f"{what}: {shown} cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(f"{what}: {shown} is not a regular file", hint="point at the file that holds the secret")
    if info.st_mode & stat.S_IROTH:
        raise SecretError(
            f"{what}: {shown} is readable by every user on this machine (mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod o-r {path} (in Kubernetes: defaultMode: 0440 on the Secret volume)",
        )
    if info.st_size > MAX_SECRET_BYTES:
        raise SecretError(f"{what}: {shown} is {info.st_size} bytes, too big for a secret", hint="point at the secret itself")
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise SecretError(f"{what}: {shown} cannot be read as text ({type(error).__name__})") from None
    if not text:
        raise SecretError(f"{what}: {shown} is empty", hint="write the secret into it")
    if "\n" in text or "\r" in text:
        raise SecretError(f"{what}: {shown} holds several lines; a secret here is one line")
    return text


def read_secret_env(name: str, *, what: str) -> str | None:
    """The stripped value of environment variable `name`, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if "\n" in value or "\r" in value:
        raise SecretError(f"{what}: ${name} holds several lines; a secret here is one line")
    return value or None


@dataclass(frozen=True)
class SecretsDir:
    """The operator's directory of secret files; the repo names keys in it, never paths."""

    path: Path | None  # None: the operator gave none, so the repo can name no secret

    FLAG = "--secrets-dir"
    ENV = "MESHOPS_SECRETS_DIR"

    def read(self, key: str, *, what: str) -> str:
        """The secret stored under `key`; SecretError when the key is not a plain name or unusable."""
        if not _SECRET_KEY.match(key or ""):
            raise SecretError(f"{what}: secret key {key!r} is not a plain file name",
                              hint="name a key of the operator's secrets directory, e.g. slack-webhook (no '/', no '..')")
        if self.path is None:
            raise SecretError(f"{what}: names secret {key!r} but no secrets directory is configured",
                              hint=f"the operator passes {self.FLAG} DIR (or ${self.ENV}) holding a file named {key}")
        root = self.path.resolve()
        candidate = (root / key).resolve()  # a mounted Secret's keys are links into ..data/, inside root
        if root not in candidate.parents:
            raise SecretError(f"{what}: secret {key!r} leads outside {self.path}", hint="keep secret files inside the directory")
        return read_secret_file(candidate, what=what, shown=f"{self.path}/{key}")
