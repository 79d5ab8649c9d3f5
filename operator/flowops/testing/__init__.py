"""Helpers for tests and samples: realistic flow documents built from real data."""
