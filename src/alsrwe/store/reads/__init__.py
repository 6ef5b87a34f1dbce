"""Read models of the registry: what pages, the API, the CLI, export and analytics show.

Nothing here writes; an import-linter contract keeps it so (reads never import
``alsrwe.store.writes`` or ``alsrwe.store.audit``).
"""
