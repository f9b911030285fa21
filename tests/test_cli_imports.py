"""The CLI imports what the command it runs uses, and nothing else (start-up time is most of a short run)."""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
sys.argv = ["meshops"] + sys.argv[1:]
from meshops.cli import main
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    return set(done.stderr.split())


def test_version_imports_no_command_module():
    modules = _modules("--version")
    assert not {name for name in modules if name.startswith("meshops.cli.")}
    assert not {"yaml", "jinja2", "git", "urllib3", "kubernetes", "rich"} & modules


def test_a_command_imports_its_own_module_only():
    modules = _modules("envs", "--help")
    assert "meshops.cli.render" in modules
    assert not {"meshops.cli.diff", "meshops.cli.apply", "meshops.cli.serve", "meshops.cli.demo"} & modules
