"""The last pipeline stage: progressive canary rollouts gated on metrics SLOs.

`policy` reads an environment's `rollout:` section (with per-service overrides) into a
`RolloutPolicy`; `queries` holds the PromQL of the built-in checks; `analysis` judges one canary
against its policy through a `MetricsSource` (`analyze(...) -> AnalysisResult`: pass, hold or fail,
check by check, each with its value, bounds, query and reason). Which provider answers the queries
(Prometheus today) is not this stage's business: see `meshops.metrics`.

On these stand the moving parts: `state` (the `meshops.dev/rollout` annotation and its schema),
`overlay` (diff/apply start, restart, cancel or leave alone a rollout as git changes versions),
`decide` (pure: state + analysis or command -> next state and weights), `router` (how one kind of
route object splits traffic: VirtualService subsets or hosts, HTTPRoute backendRefs) and `stages`
(A/B and mirror steps before the weights), `store` (find rollouts in the cluster, on every routed
kind, and write each decision as one guarded request), `driver` (drives every active rollout, a
thread each), `control` (pause/resume/promote/abort) and `event_recorder` (a Kubernetes Event per
decision). The synthetic traffic that follows the weights in tests and the demo is `meshops.sim`.
"""
