"""The last pipeline stage: progressive canary rollouts gated on Prometheus SLOs.

`policy` reads an environment's `rollout:` section (with per-service overrides) into a
`RolloutPolicy`; `prometheus` asks Prometheus instant queries and turns every way that can go wrong
into a typed outcome; `queries` holds the PromQL of the built-in checks; `analysis` judges one
canary against its policy (`analyze(...) -> AnalysisResult`: pass, hold or fail, check by check,
each with its value, bounds, query and reason). The engine that moves VirtualService weights from
step to step stands on these modules.
"""
