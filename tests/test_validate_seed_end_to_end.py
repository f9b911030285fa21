"""The seed article's YAML through `meshops validate -f`, block by block, as a migrating team would run it.

Errors where the article is wrong (misplaced connection-pool fields, keepAlive, Telemetry metric
names, access-log `format`), warnings for its over-permissive AuthorizationPolicies, and nothing
worse than a warning for the other blocks.
"""
from __future__ import annotations

import json

import pytest

from seedyaml import write_seed_blocks

# Markers that identify a block -> codes that must appear, and the exit code.
EXPECTED = {
    "name: productpage\nspec:\n  host: productpage": ({"MSH105"}, 1),  # connection pool: unknown fields
    "name: custom-metrics": ({"MSH107"}, 1),  # metric names that do not exist
    "name: access-logs": ({"MSH105"}, 1),  # `format` inside Telemetry
    "name: structured-logs": ({"MSH105"}, 1),
    "name: allow-read": ({"MSH302"}, 0),
    "name: admin-access": ({"MSH302"}, 0),
}


@pytest.fixture(scope="module")
def seed_blocks(tmp_path_factory):
    blocks = write_seed_blocks(tmp_path_factory.mktemp("seed"))
    if not blocks:
        pytest.skip("../shared/seed is not present on this machine")
    return blocks


def _validate(meshops, path):
    result = meshops("validate", "-f", str(path), "-o", "json")
    return result, json.loads(result.stdout) if result.stdout.strip() else []


def test_each_seed_block_gives_exactly_the_expected_verdict(meshops, seed_blocks):
    matched = set()
    for block in seed_blocks:
        text = block.read_text()
        result, findings = _validate(meshops, block)
        codes = {f["code"] for f in (findings if isinstance(findings, list) else findings.get("findings", []))}
        marker = next((m for m in EXPECTED if m in text), None)
        if marker is None:
            assert result.returncode == 0, (block.name, result.stdout)
            continue
        matched.add(marker)
        want_codes, want_exit = EXPECTED[marker]
        assert want_codes <= codes, (block.name, codes)
        assert result.returncode == want_exit, (block.name, result.stdout)
    assert matched == set(EXPECTED)


def test_misplaced_fields_name_the_seed_file_and_line(meshops, seed_blocks):
    block = next(b for b in seed_blocks if "keepAlive" in b.read_text())
    result = meshops("validate", "-f", str(block))
    line = next(n for n, text in enumerate(block.read_text().splitlines(), 1) if "keepAlive" in text)
    assert result.returncode == 1
    assert str(block) in result.stdout
    assert any(row.split()[:3] == [str(line), "error", "MSH105"] for row in result.stdout.splitlines())
    assert "did you mean 'tcpKeepalive'?" in result.stdout


def test_validate_env_turns_a_broken_values_file_into_a_finding_not_a_crash(meshops, example_repo):
    from pathlib import Path

    values = Path(example_repo.working_dir) / "environments/dev/values.yaml"
    values.write_text(values.read_text() + "\nbroken: [\n")
    result = meshops("validate", "--env", "dev", "--repo", example_repo.working_dir)
    assert result.returncode == 1
    assert "MSH100" in result.stdout and "environments/dev/values.yaml" in result.stdout
