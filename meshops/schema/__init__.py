"""JSON Schema and Kubernetes structural schemas, shared by validate and the sandbox API server.

`structural` checks objects against a CRD's `openAPIV3Schema` the way the API server does;
`problems` turns jsonschema errors into exact paths with did-you-mean hints (values, meshops.yaml);
`compiled` caches fastjsonschema validators on disk.
"""
