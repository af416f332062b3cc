"""Prefect flows (batch, watch service, serving). Prefect reads its settings from the environment when
it is first imported, so the product's defaults are set here, before any flow module imports it."""

from flows.server import quiet_prefect

quiet_prefect()
