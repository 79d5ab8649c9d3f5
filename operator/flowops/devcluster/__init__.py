"""A local control plane built from Go modules, for tests and `make run`."""
