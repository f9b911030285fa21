"""Helpers the tests share (importable as `helpers`: pytest puts tests/ on sys.path)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
def _shared_dir() -> Path:
    """The team's shared test data: $MESHOPS_SHARED_DIR, else ../shared beside the checkout, else /work/shared."""
    candidates = [os.environ.get("MESHOPS_SHARED_DIR"), REPO_ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return REPO_ROOT.parent / "shared"


SHARED = _shared_dir()
ISTIO_CRDS = SHARED / "istio" / "crd-all.gen.yaml"
SEED_DIR = SHARED / "seed"


def copy_example_repo(target: Path) -> Path:
    """Copy the example config repo (environments/ + templates/) to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for part in ("environments", "templates"):
        shutil.copytree(REPO_ROOT / part, target / part)
    return target


def run_meshops(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would), capturing text output."""
    full_env = dict(os.environ)
    full_env.pop("MESHOPS_DEBUG", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "meshops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
