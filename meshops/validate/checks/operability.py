"""MSH4xx operability: config that works but costs money, breaks on upgrade, or silently does nothing.

- Tracing every request (100 % sampling) is fine in dev and a capacity problem in production;
  it is checked only for environments marked `production: true` in meshops.yaml.
- Deprecated API versions (networking v1alpha3/v1beta1, security v1beta1, telemetry v1alpha1) still
  work, but v1 is served since Istio 1.22: info, so upgrades are planned, not forced.
- Telemetry tag overrides are CEL expressions; the Go-template syntax of the old Mixer config
  (`{{.destination_service_name}}`) is taken as a literal string or rejected.
- Deprecated fields (`DEPRECATED_FIELDS`) still parse but are ignored or will go: warn with the
  replacement, as `istioctl analyze`'s deprecation analyzer does.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator

from ...model import kinds
from ...yamlio.documents import Path
from ..findings import Finding, Rule, Severity
from ..index import NETWORKING, TELEMETRY, mapping, sequence, text
from ..meshconfig import MESH_CONFIG_KEY, mesh_configs
from .context import Context

RULES = (
    Rule("MSH401", Severity.WARNING, "100 % trace sampling in a production environment"),
    Rule("MSH402", Severity.INFO, "Deprecated API version"),
    Rule("MSH403", Severity.WARNING, "Telemetry tag override written as a Go template instead of CEL"),
    Rule("MSH405", Severity.WARNING, "Deprecated field: ignored, or replaced by another", "IST0002 Deprecated"),
)


@dataclasses.dataclass(frozen=True)
class DeprecatedField:
    """A field Istio deprecated: the kind, the end of its path (list indexes left out), what to do instead."""

    kind: str
    suffix: tuple[str, ...]
    advice: str


DEPRECATED_FIELDS: tuple[DeprecatedField, ...] = (
    DeprecatedField("DestinationRule", ("consistentHash", "minimumRingSize"),
                    "use consistentHash.ringHash.minimumRingSize"),
    DeprecatedField("DestinationRule", ("loadBalancer", "warmupDurationSecs"), "use loadBalancer.warmup.duration"),
    DeprecatedField("DestinationRule", ("outlierDetection", "consecutiveErrors"),
                    "use outlierDetection.consecutive5xxErrors (consecutiveErrors counts 502-504 only)"),
    DeprecatedField("VirtualService", ("fault", "delay", "percent"), "use fault.delay.percentage.value"),
    DeprecatedField("Sidecar", ("outboundTrafficPolicy", "egressProxy"), "it is ignored; remove it"),
)
_DEPRECATED_BY_KIND: dict[str, list[DeprecatedField]] = {}
for _row in DEPRECATED_FIELDS:
    _DEPRECATED_BY_KIND.setdefault(_row.kind, []).append(_row)

FULL_SAMPLING = 100.0


def _is_full(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= FULL_SAMPLING


def check_production_sampling(context: Context) -> Iterator[Finding]:
    """MSH401 on Telemetry `randomSamplingPercentage` and the mesh ConfigMap's `defaultConfig.tracing.sampling`."""
    if not context.production:
        return
    environment = context.config.name if context.config else "this environment"
    advice = f"{environment} is marked production: trace a small share (1-10 %) of requests"
    for entry in context.index.of_kind(TELEMETRY, "Telemetry"):
        for tracing_index, tracing in enumerate(sequence(entry.spec.get("tracing"))):
            value = mapping(tracing).get("randomSamplingPercentage")
            if _is_full(value):
                yield context.finding(
                    "MSH401", entry, ("spec", "tracing", tracing_index, "randomSamplingPercentage"),
                    f"randomSamplingPercentage {value} traces every request: {advice}",
                )
    for entry, mesh in mesh_configs(context.index, rendered_only=True):
        value = mapping(mapping(mesh.get("defaultConfig")).get("tracing")).get("sampling")
        if _is_full(value):
            yield context.finding(
                "MSH401", entry, ("data", MESH_CONFIG_KEY),
                f"mesh config defaultConfig.tracing.sampling {value} traces every request: {advice}",
            )


def check_deprecated_versions(context: Context) -> Iterator[Finding]:
    """MSH402: an apiVersion the kinds table lists after the preferred one, or the schemas call deprecated."""
    for entry in context.index.entries:
        if entry.manifest is None:
            continue
        row = kinds.lookup(entry.key.group, entry.key.kind)
        api_version = str(entry.obj.get("apiVersion") or "")
        reason = context.schemas.deprecation(api_version, entry.key.kind) if context.schemas is not None else None
        if reason is None and row is not None and entry.version in row.versions[1:]:
            since = " (served since Istio 1.22)" if row.group.endswith("istio.io") else ""
            reason = f"{api_version} is deprecated for {entry.key.kind}: use {row.preferred_api_version}{since}"
        if reason:
            yield context.finding("MSH402", entry, ("apiVersion",), reason)


def check_tag_override_templates(context: Context) -> Iterator[Finding]:
    """MSH403: `{{ ... }}` in a tag override value."""
    for entry in context.index.of_kind(TELEMETRY, "Telemetry"):
        for metrics_index, metrics in enumerate(sequence(entry.spec.get("metrics"))):
            for override_index, override in enumerate(sequence(mapping(metrics).get("overrides"))):
                for tag, tag_override in mapping(mapping(override).get("tagOverrides")).items():
                    value = text(mapping(tag_override).get("value"))
                    if value and "{{" in value:
                        yield context.finding(
                            "MSH403", entry,
                            ("spec", "metrics", metrics_index, "overrides", override_index, "tagOverrides", tag, "value"),
                            f"tag {tag!r} is a Go template ({value!r}); Istio evaluates tag values as CEL: write e.g. "
                            "\"has(destination.service.name) ? destination.service.name : 'unknown'\"",
                        )


def _key_paths(node: Any, path: Path) -> Iterator[Path]:
    """Every key's path in a JSON-like tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from _key_paths(value, path + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _key_paths(item, path + (index,))


def check_deprecated_fields(context: Context) -> Iterator[Finding]:
    """MSH405: a field of `DEPRECATED_FIELDS`, wherever it sits (top-level, port-level, subset policies)."""
    for kind, rows in _DEPRECATED_BY_KIND.items():
        # Most objects use none of them: a search of their JSON text (in C) spares the walk.
        quoted_names = {f'"{row.suffix[-1]}"' for row in rows}
        for entry in context.index.of_kind(NETWORKING, kind):
            text_form = json.dumps(entry.spec, default=str)
            if not any(name in text_form for name in quoted_names):
                continue
            for path in _key_paths(entry.spec, ("spec",)):
                names = tuple(part for part in path if isinstance(part, str))
                for row in rows:
                    if names[-len(row.suffix):] == row.suffix:
                        yield context.finding("MSH405", entry, path, f"{'.'.join(row.suffix)} is deprecated: {row.advice}")


CHECKS = (check_production_sampling, check_deprecated_versions, check_tag_override_templates, check_deprecated_fields)
