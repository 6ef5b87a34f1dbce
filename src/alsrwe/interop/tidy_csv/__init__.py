"""The tidy CSV format in and out (docs/data-format.md; the contract: alsrwe.domain.tidy_format).

Import is a reader that hands the domain's records to the store's one write path; export
writes exactly what import reads.
"""

from alsrwe.interop.tidy_csv.export import export_tidy
from alsrwe.interop.tidy_csv.importer import (
    ImportReport,
    check_tidy_dir,
    import_tidy,
    write_frames,
)

__all__ = ["ImportReport", "check_tidy_dir", "export_tidy", "import_tidy", "write_frames"]
