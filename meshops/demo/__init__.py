"""`meshops demo`: the whole pipeline on one machine, no cluster — git commit to promoted canary.

`world.DemoWorld` starts what a real setup would have: a git config repo (a copy of the example
Bookinfo repo), the sandbox API server with Istio's CRDs, a synthetic mesh whose traffic follows
the VirtualService weights, and a real Prometheus scraping it (when the binary is installed).
`script.run_demo` then drives the real CLI through the story, printing each command as a person
would type it. Everything started is stopped and every temp dir removed, also on Ctrl-C.
"""
