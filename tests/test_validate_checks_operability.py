"""MSH4xx operability: production trace sampling, deprecated API versions, Go-template tag values."""
from __future__ import annotations

from meshops.source.envconfig import EnvConfig
from meshops.yamlio.documents import load_one


def environment(production: bool) -> EnvConfig:
    text = f"production: {str(production).lower()}\nnamespace: bookinfo\n"
    document = load_one(text, filename="environments/prod/meshops.yaml")
    return EnvConfig(name="prod", file="environments/prod/meshops.yaml", data=document.data, document=document)


def telemetry(sampling: float, version: str = "v1") -> str:
    return f"""
apiVersion: telemetry.istio.io/{version}
kind: Telemetry
metadata: {{name: mesh-default, namespace: istio-system}}
spec:
  tracing:
  - providers: [{{name: jaeger}}]
    randomSamplingPercentage: {sampling}
"""


MESH_CONFIG = """
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultConfig:
      tracing:
        sampling: SAMPLING
"""


def test_full_trace_sampling_in_production_is_a_warning(validate_yaml):
    [finding] = validate_yaml(telemetry(100.0), config=environment(True))
    assert (finding.code, finding.severity.value) == ("MSH401", "warning")
    assert finding.json_path == ".spec.tracing[0].randomSamplingPercentage"
    assert "prod is marked production" in finding.message


def test_full_trace_sampling_outside_production_or_low_sampling_in_production_is_quiet(validate_yaml):
    assert validate_yaml(telemetry(100.0), config=environment(False)) == []
    assert validate_yaml(telemetry(100.0)) == []
    assert validate_yaml(telemetry(1.0), config=environment(True)) == []


def test_full_sampling_in_the_mesh_config_map_is_a_warning_in_production(validate_yaml):
    text = telemetry(1.0) + MESH_CONFIG.replace("SAMPLING", "100.0")
    [finding] = validate_yaml(text, config=environment(True))
    assert (finding.code, finding.object.kind, finding.json_path) == ("MSH401", "ConfigMap", ".data.mesh")
    assert validate_yaml(telemetry(1.0) + MESH_CONFIG.replace("SAMPLING", "1.0"), config=environment(True)) == []


def test_deprecated_api_version_is_info_naming_the_preferred_one(validate_yaml):
    [finding] = validate_yaml(telemetry(1.0, version="v1alpha1"))
    assert (finding.code, finding.severity.value, finding.json_path) == ("MSH402", "info", ".apiVersion")
    assert "telemetry.istio.io/v1" in finding.message
    assert finding.location.line == 2


def test_preferred_api_version_is_quiet(validate_yaml):
    assert validate_yaml(telemetry(1.0, version="v1")) == []


def tag_override(value: str) -> str:
    return f"""
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: metrics, namespace: istio-system}}
spec:
  metrics:
  - providers: [{{name: prometheus}}]
    overrides:
    - match: {{metric: ALL_METRICS}}
      tagOverrides:
        destination_service_name:
          value: {value}
"""


def test_go_template_tag_override_is_a_warning(validate_yaml):
    [finding] = validate_yaml(tag_override("'{{.destination_service_name | default \"unknown\"}}'"))
    assert (finding.code, finding.severity.value) == ("MSH403", "warning")
    assert finding.json_path == ".spec.metrics[0].overrides[0].tagOverrides.destination_service_name.value"


def test_cel_tag_override_is_quiet(validate_yaml):
    assert validate_yaml(tag_override("\"has(destination.service.name) ? destination.service.name : 'unknown'\"")) == []
