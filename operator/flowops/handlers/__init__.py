"""Kopf handlers: thin adapters from events to the services."""

from . import (  # noqa: F401
    bindings,  # noqa: F401
    environmentaudit,
    environments,
    flows,
    indexes,
    lifecycle,
    observe,  # noqa: F401
    promotionhistory,
    promotions,
    watchers,
)
