"""The simulated world the demo, the tests and the benchmarks run in — never imported by a product stage.

`traffic` is a synthetic mesh-traffic exporter (Istio's metrics, with error rates and latencies a
test sets); `follow` makes that traffic follow the route objects in the cluster (VirtualServices,
HTTPRoutes), routing each class of requests by the live matches, weights and mirrors as a proxy
would (`routing`); `prometheus` starts the
real Prometheus binary to scrape it. Production talks to real clusters and a real Prometheus.
"""
