"""`RuleCheck`: one `x-kubernetes-validations` (CEL) rule of a shipped schema, written in Python.

The rows live with the kinds they belong to (`cel_rules.py` for Istio, `gatewayapi_rules.py` for the
Gateway API); `cel_rules` gathers them into the one registry validate and the DSL look rules up in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class RuleCheck:
    """One rule: its name in the DSL, the message users see, the CEL we export, and the test."""

    name: str
    message: str
    cel: str
    holds: Callable[[Any], bool]  # True when `self` satisfies the rule
    applies_to: type | tuple[type, ...] = object  # rules sharing a message are told apart by the type of `self`
    stricter: bool = False  # True: istiod's webhook rejects this, the upstream CRD does not say it
