"""The clinic web app (FastAPI, Jinja2): pages for clinicians and a JSON API under /api/v1.

Public entry points: :func:`alsrwe.web.app.create_app`, :func:`alsrwe.web.app.serve`,
:func:`alsrwe.web.auth.create_user` and :class:`alsrwe.web.settings.WebSettings`.
Nothing here connects or reads the environment at import time.
"""
