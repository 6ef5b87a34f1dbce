"""FHIR R4 in and out (validated with fhir.resources' R4B models): one tidy row ⇄ resources.

Export maps the registry's tidy text tables to resources (:mod:`.writer`), lossless for every
tidy column; import reads resources back into tidy rows (:mod:`.reader`, :mod:`.assemble`)
and hands them to the one write path, all or nothing. docs/interop.md gives the mapping, the
codes and their verification status, and the id scheme (:mod:`.ids`).
"""

from alsrwe.interop.fhir.alsfrs import QUESTIONNAIRE_URL, questionnaire
from alsrwe.interop.fhir.assemble import ResourceRows, locate
from alsrwe.interop.fhir.bundle import bundle_of
from alsrwe.interop.fhir.codesystems import code_systems
from alsrwe.interop.fhir.exchange import (
    export_fhir,
    export_resources,
    import_fhir,
    import_resources,
    write_rows,
)
from alsrwe.interop.fhir.ids import (
    PSEUDONYM_SYSTEM,
    SITE_SYSTEM,
    patient_fhir_id,
    pseudonym_of_fhir_id,
)
from alsrwe.interop.fhir.reader import rows_of_resources
from alsrwe.interop.fhir.validate import FHIR_INVALID, validated
from alsrwe.interop.fhir.writer import resources_for

__all__ = [
    "FHIR_INVALID", "PSEUDONYM_SYSTEM", "QUESTIONNAIRE_URL", "SITE_SYSTEM", "ResourceRows",
    "bundle_of", "code_systems", "export_fhir", "export_resources", "import_fhir",
    "import_resources", "locate", "patient_fhir_id", "pseudonym_of_fhir_id", "questionnaire",
    "resources_for", "rows_of_resources", "validated", "write_rows",
]
