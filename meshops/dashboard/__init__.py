"""The dashboard: a read-only web UI over what the cluster and git already record.

Where it sits: beside `webhook/` and `controller/`, on top of the pipeline. It never writes: it
reads through public functions — environment records on each environment's Lease
(`reconcile.lock`), plans (`pipeline.plan`), rollout state on each VirtualService (`rollout.store`),
freeze windows and promotion order from `meshops.yaml`, and metric history from Prometheus. In
order: `sources` fetches the config repo and reaches each (environment, cluster); `environments`
and `rollouts` turn what they read into views; `chart` lays a rollout out as SVG geometry; `pages`
renders views to HTML (Jinja2, everything escaped); `app` answers HTTP requests (token, security
headers, polling fragments); `report` writes a rollout as one standalone HTML file.
"""
