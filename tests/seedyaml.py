"""The seed article's ```yaml blocks as files, the way a team migrating them would pass them to `-f`."""
from __future__ import annotations

import re
from pathlib import Path

from helpers import SEED_DIR

_YAML_FENCE = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)


def write_seed_blocks(target: Path) -> list[Path]:
    """One file per yaml block of every seed text (`<seed>-NN.yaml`); empty when the seed is absent."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in sorted(SEED_DIR.glob("*.txt")) if SEED_DIR.is_dir() else []:
        for index, block in enumerate(_YAML_FENCE.findall(seed.read_text(encoding="utf-8"))):
            path = target / f"{seed.stem}-{index:02d}.yaml"
            path.write_text(block, encoding="utf-8")
            written.append(path)
    return written
