"""Bad input to render: one line `error: FILE:LINE: what (how to fix)`, exit 2, no traceback, no output."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import copy_example_repo

VALUES = "environments/dev/values.yaml"


def _write(root: Path, relative: str, text: str | bytes) -> None:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text if isinstance(text, bytes) else text.encode())


def _append(root: Path, relative: str, text: str) -> None:
    _write(root, relative, (root / relative).read_text() + text)


# (case id, how to break the repo, extra CLI args, expected start of stderr after "error: ")
CASES = [
    ("broken YAML in values",
     lambda r: _append(r, VALUES, "\nbroken: [unclosed\n"), [], "environments/dev/values.yaml:"),
    ("duplicate key in values",
     lambda r: _append(r, VALUES, "\nsecurity:\n  mtls:\n    mode: STRICT\n"), [], "environments/dev/values.yaml:"),
    ("unknown values key",
     lambda r: _append(r, VALUES, "\nservces: {}\n"), [], "environments/dev/values.yaml:"),
    ("values of the wrong type",
     lambda r: _write(r, VALUES, "services:\n  reviews:\n    port: eighty\n    version: v1\n"), [], "environments/dev/values.yaml:3:"),
    ("binary junk as values",
     lambda r: _write(r, VALUES, b"\x89PNG\r\n\x1a\n\x00\x00"), [], "environments/dev/values.yaml:"),
    ("undefined variable in a template",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.nothing_here }}\n"),
     [], "templates/extra.yaml.j2:5:"),
    ("Jinja syntax error",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\n{% for x in %}\n{% endfor %}\n"), [], "templates/extra.yaml.j2:2:"),
    ("template renders invalid YAML",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n"),
     [], "templates/extra.yaml.j2:"),
    ("sandbox escape attempt",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\n# {{ ''.__class__.__mro__[1].__subclasses__() }}\n"),
     [], "templates/extra.yaml.j2:2:"),
    ("object without a name",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"), [], "templates/extra.yaml.j2:"),
    ("object rendered twice",
     lambda r: _write(r, "templates/extra.yaml.j2", "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\nspec: {}\n"),
     [], "templates/services.yaml.j2:"),
    ("required value missing",
     lambda r: _write(r, "templates/extra.yaml.j2", "\n\n{{ values.get('owner') | required('values.owner names the on-call team') }}\n"),
     [], "templates/extra.yaml.j2:3:"),
    ("unknown key in meshops.yaml",
     lambda r: _append(r, "environments/dev/meshops.yaml", "\nprometeus: {}\n"), [], "environments/dev/meshops.yaml:"),
    ("unknown environment", lambda r: None, ["--env", "qa"], "unknown environment 'qa'"),
    ("environment name with a slash", lambda r: None, ["--env", "dev/../prod"], "invalid environment name"),
    ("environment name with dots", lambda r: None, ["--env", ".."], "invalid environment name"),
    ("unknown --ref outside git", lambda r: None, ["--ref", "v9"], "--ref v9 needs a git repository"),
    ("malformed --set", lambda r: None, ["--set", "services.reviews.version"], "cannot read '--set"),
]


@pytest.mark.parametrize("case,breaks,args,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_error_and_no_output(tmp_path, meshops, case, breaks, args, expected):
    root = copy_example_repo(tmp_path / "config")
    breaks(root)
    out_file = tmp_path / "out.yaml"
    out_file.write_text("previous content\n")
    command = ["render", "--repo", str(root), *(args if "--env" in args else ["--env", "dev", *args]), "--output-file", str(out_file)]
    result = meshops(*command)
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert lines[0][len("error: "):].startswith(expected), lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert out_file.read_text() == "previous content\n"


def test_unknown_environment_lists_the_known_ones(tmp_path, meshops):
    root = copy_example_repo(tmp_path / "config")
    result = meshops("render", "--repo", str(root), "--env", "prd")
    assert "did you mean 'prod'?" in result.stderr
    assert "known environments: dev, prod, staging" in result.stderr


def test_unknown_ref_in_a_git_repository(example_repo, meshops):
    result = meshops("render", "--repo", example_repo.working_tree_dir, "--env", "dev", "--ref", "no-such-branch")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown revision 'no-such-branch'")


def test_unknown_values_key_suggests_the_right_one(tmp_path, meshops):
    root = copy_example_repo(tmp_path / "config")
    _write(root, VALUES, "services:\n  reviews:\n    port: 9080\n    verison: v2\n    version: v1\n")
    result = meshops("render", "--repo", str(root), "--env", "dev")
    assert result.stderr.strip() == (
        "error: environments/dev/values.yaml:4: services.reviews.verison: unknown key 'verison' (did you mean 'version'?)"
    )
