"""Pure domain logic of flowops: no I/O, no Kubernetes."""
