"""The limits tests reuse the delivery rig: a sandbox whose webhooks reach a receiver feeding the store."""

from tests.delivery.conftest import pg_store_url, rig, store_url  # noqa: F401 - fixtures
