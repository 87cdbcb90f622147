"""The local dashboard (``btcmacro serve``): a read-only FastAPI app over the store and registry.

``create_app(store_path, port=...)`` builds the ASGI app; see :mod:`btcmacro.web.app` for the
pages, the JSON API and the security rules, and :mod:`btcmacro.web.data` for how the store is read
(read-only per cache miss, last published data while an update runs).
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
