"""Kopf handlers: thin adapters from events to the reconcilers."""

from . import lifecycle  # noqa: F401
