"""REDCap in and out: a project export (data dictionary + records) read through a TOML
mapping into the one write path, and the registry written as a REDCap project.

See docs/interop.md (REDCap) for the mapping keys, the shipped clinic mapping, the example
project in ``examples/redcap/`` and how to load an export into REDCap.
"""

from alsrwe.interop.redcap.export import export_redcap
from alsrwe.interop.redcap.folder import RedcapProject, looks_like_redcap, read_redcap_project
from alsrwe.interop.redcap.importer import (
    check_redcap_folder,
    import_redcap,
    import_redcap_folder,
    read_redcap,
)
from alsrwe.interop.redcap.mapping import CLINIC_MAPPING, RedcapMapping, load_mapping

__all__ = ["CLINIC_MAPPING", "RedcapMapping", "RedcapProject", "check_redcap_folder",
           "export_redcap", "import_redcap", "import_redcap_folder", "load_mapping",
           "looks_like_redcap", "read_redcap", "read_redcap_project"]
