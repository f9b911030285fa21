"""Promotion order: which environment must succeed before the next one (dev -> staging -> prod).

Each environment's `meshops.yaml` may say `promotion: {after: <env>}`; this module orders
environments so every one comes after the one it names, and refuses unknown names and cycles.
"""
from __future__ import annotations

from .envconfig import EnvConfig
from ..model.errors import ConfigError


def promotion_order(configs: list[EnvConfig]) -> list[EnvConfig]:
    """Environments sorted so that each comes after its `promotion.after`; ties by name."""
    by_name = {c.name: c for c in configs}
    ordered: list[EnvConfig] = []
    state: dict[str, str] = {}

    def visit(config: EnvConfig, chain: list[str]) -> None:
        if state.get(config.name) == "done":
            return
        if state.get(config.name) == "visiting":
            raise ConfigError(
                "promotion order has a cycle: " + " -> ".join(chain + [config.name]),
                location=config.location("promotion", "after"),
                hint="make one environment the first (no promotion.after)",
            )
        state[config.name] = "visiting"
        after = (config.data.get("promotion") or {}).get("after")
        if after:
            if after not in by_name:
                raise ConfigError(
                    f"promotion.after names unknown environment {after!r}",
                    location=config.location("promotion", "after"),
                    hint="known: " + ", ".join(sorted(by_name)),
                )
            visit(by_name[after], chain + [config.name])
        state[config.name] = "done"
        ordered.append(config)

    for config in sorted(configs, key=lambda c: c.name):
        visit(config, [])
    return ordered
