"""The simulated world the demo, the tests and the benchmarks run in — never imported by a product stage.

`traffic` is a synthetic mesh-traffic exporter (Istio's metrics, with error rates and latencies a
test sets); `follow` makes that traffic follow a VirtualService's weights; `prometheus` starts the
real Prometheus binary to scrape it. Production talks to real clusters and a real Prometheus.
"""
