"""Kopf handlers: thin adapters from events to the services."""

from . import flows, indexes, lifecycle, promotions  # noqa: F401
