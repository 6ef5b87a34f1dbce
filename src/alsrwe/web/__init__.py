"""The clinic web app (FastAPI, Jinja2): pages for clinicians and a JSON API under /api/v1.

Public entry points: :func:`alsrwe.web.app.create_app`, :func:`alsrwe.web.server.serve` and
:class:`alsrwe.web.settings.WebSettings`. Pages and the API read through ``alsrwe.store.reads``
and write through ``alsrwe.store.writes`` only (docs/architecture.md).
Nothing here connects or reads the environment at import time.
"""
