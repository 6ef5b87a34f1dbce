"""Exact pooled analyses across clinics whose patient-level data never leave them.

A layer above analytics that knows nothing of the web (docs/federation.md): the coordinator
proposes parameters, each site answers with sums over its own patients, masked so that only
the total over all sites can be read (``secure_sum``), after checking its disclosure rules.
"""
