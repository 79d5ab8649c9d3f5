"""Kopf handlers: thin adapters from events to the services."""

from . import environments, flows, indexes, lifecycle, promotionhistory, promotions  # noqa: F401
from . import bindings  # noqa: F401
from . import observe  # noqa: F401
