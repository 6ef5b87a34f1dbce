"""Which sites' patients a query may return: every patient read model takes a :class:`SiteScope`.

Site isolation is enforced in the query, not in the page: a patient outside the scope is
simply not found, so the web answers 404 and never reveals that the record exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import Select

from alsrwe.store.models import Patient

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class SiteScope:
    """Either every site (admins, analysts) or an explicit set of site ids (possibly empty).

    Build it with :meth:`every_site` or :meth:`only`; there is no default, so forgetting the
    scope is a type error rather than a silent "all sites".
    """

    all_sites: bool
    site_ids: frozenset[int]

    @classmethod
    def every_site(cls) -> SiteScope:
        return cls(True, frozenset())

    @classmethod
    def only(cls, site_ids: Iterable[int]) -> SiteScope:
        return cls(False, frozenset(site_ids))

    def allows(self, site_id: int) -> bool:
        return self.all_sites or site_id in self.site_ids

    def patients(self, query: Select[*Ts]) -> Select[*Ts]:
        """Restrict a query that selects from ``patients`` to the sites in scope."""
        if self.all_sites:
            return query
        return query.where(Patient.site_id.in_(sorted(self.site_ids)))


__all__ = ["SiteScope"]
