"""The last pipeline stage: progressive canary rollouts gated on Prometheus SLOs.

`policy` reads an environment's `rollout:` section (with per-service overrides) into a
`RolloutPolicy`; `prometheus` asks Prometheus instant queries and turns every way that can go wrong
into a typed outcome; `queries` holds the PromQL of the built-in checks; `analysis` judges one
canary against its policy (`analyze(...) -> AnalysisResult`: pass, hold or fail, check by check,
each with its value, bounds, query and reason).

On these stand the moving parts: `state` (the `meshops.dev/rollout` annotation and its schema),
`overlay` (diff/apply start, restart, cancel or leave alone a rollout as git changes versions),
`decide` (pure: state + analysis or command -> next state and weights), `store` (find rollouts in the
cluster, write each decision as one guarded request), `engine` (drives every active rollout, a
thread each), `control` (pause/resume/promote/abort), `events` (a Kubernetes Event per decision)
and `follow` (synthetic traffic that follows the weights, for tests, benchmarks and the demo).
"""
