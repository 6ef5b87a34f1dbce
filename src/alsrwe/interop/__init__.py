"""Data in and out of the registry: the tidy CSV format (and later FHIR, REDCap, OMOP)."""
