"""The OMOP CDM v5.4 tables alsrwe writes and reads: their columns, in order, and their types.

Transcribed from the CDM v5.4 DDL (OHDSI/CommonDataModel, ``inst/ddl/5.4/postgresql/
OMOPCDM_postgresql_5.4_ddl.sql``): ``integer`` → int32, ``NUMERIC`` → float64, ``date``,
``TIMESTAMP`` and ``varchar``/``TEXT`` → string. Export writes exactly these columns in this
order (CSV header, Parquet schema); the reader asks for them by name and reads integers as
int64, so that a foreign instance whose ids are ``bigint`` still fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import pyarrow as pa


class CdmType(StrEnum):
    """A column type of the CDM DDL."""

    INTEGER = "integer"
    NUMERIC = "numeric"
    DATE = "date"
    TIMESTAMP = "timestamp"
    TEXT = "text"


ARROW_TYPES: Mapping[CdmType, pa.DataType] = MappingProxyType({
    CdmType.INTEGER: pa.int32(), CdmType.NUMERIC: pa.float64(), CdmType.DATE: pa.date32(),
    CdmType.TIMESTAMP: pa.timestamp("us"), CdmType.TEXT: pa.string(),
})
"""How export writes each type (Parquet schema, and the types CSV files are read back as)."""

IBIS_TYPES: Mapping[CdmType, str] = MappingProxyType({
    CdmType.INTEGER: "int64", CdmType.NUMERIC: "float64", CdmType.DATE: "date",
    CdmType.TIMESTAMP: "timestamp", CdmType.TEXT: "string",
})
"""How the reader casts each type (ids as int64: foreign instances may use bigint)."""

_CODES = {"I": CdmType.INTEGER, "N": CdmType.NUMERIC, "D": CdmType.DATE,
          "T": CdmType.TIMESTAMP, "S": CdmType.TEXT}


@dataclass(frozen=True, slots=True)
class CdmColumn:
    name: str
    type: CdmType
    required: bool


@dataclass(frozen=True, slots=True)
class CdmTable:
    """One CDM table: its name, its columns in DDL order, and its own id column (if any)."""

    name: str
    columns: tuple[CdmColumn, ...]
    id_column: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required)
                          for c in self.columns])

    def ibis_types(self) -> dict[str, str]:
        return {c.name: IBIS_TYPES[c.type] for c in self.columns}


def _table(name: str, *specs: str, id_column: str | None = None) -> CdmTable:
    """``"person_id I!"``: a column, its type code (I N D T S) and ``!`` when NOT NULL."""
    columns = []
    for spec in specs:
        column, code = spec.split()
        columns.append(CdmColumn(column, _CODES[code.rstrip("!")], code.endswith("!")))
    return CdmTable(name, tuple(columns), id_column)


PERSON = _table(
    "person", "person_id I!", "gender_concept_id I!", "year_of_birth I!", "month_of_birth I",
    "day_of_birth I", "birth_datetime T", "race_concept_id I!", "ethnicity_concept_id I!",
    "location_id I", "provider_id I", "care_site_id I", "person_source_value S",
    "gender_source_value S", "gender_source_concept_id I", "race_source_value S",
    "race_source_concept_id I", "ethnicity_source_value S", "ethnicity_source_concept_id I",
    id_column="person_id")
OBSERVATION_PERIOD = _table(
    "observation_period", "observation_period_id I!", "person_id I!",
    "observation_period_start_date D!", "observation_period_end_date D!",
    "period_type_concept_id I!", id_column="observation_period_id")
CONDITION_OCCURRENCE = _table(
    "condition_occurrence", "condition_occurrence_id I!", "person_id I!",
    "condition_concept_id I!", "condition_start_date D!", "condition_start_datetime T",
    "condition_end_date D", "condition_end_datetime T", "condition_type_concept_id I!",
    "condition_status_concept_id I", "stop_reason S", "provider_id I", "visit_occurrence_id I",
    "visit_detail_id I", "condition_source_value S", "condition_source_concept_id I",
    "condition_status_source_value S", id_column="condition_occurrence_id")
DRUG_EXPOSURE = _table(
    "drug_exposure", "drug_exposure_id I!", "person_id I!", "drug_concept_id I!",
    "drug_exposure_start_date D!", "drug_exposure_start_datetime T",
    "drug_exposure_end_date D!", "drug_exposure_end_datetime T", "verbatim_end_date D",
    "drug_type_concept_id I!", "stop_reason S", "refills I", "quantity N", "days_supply I",
    "sig S", "route_concept_id I", "lot_number S", "provider_id I", "visit_occurrence_id I",
    "visit_detail_id I", "drug_source_value S", "drug_source_concept_id I",
    "route_source_value S", "dose_unit_source_value S", id_column="drug_exposure_id")
PROCEDURE_OCCURRENCE = _table(
    "procedure_occurrence", "procedure_occurrence_id I!", "person_id I!",
    "procedure_concept_id I!", "procedure_date D!", "procedure_datetime T",
    "procedure_end_date D", "procedure_end_datetime T", "procedure_type_concept_id I!",
    "modifier_concept_id I", "quantity I", "provider_id I", "visit_occurrence_id I",
    "visit_detail_id I", "procedure_source_value S", "procedure_source_concept_id I",
    "modifier_source_value S", id_column="procedure_occurrence_id")
MEASUREMENT = _table(
    "measurement", "measurement_id I!", "person_id I!", "measurement_concept_id I!",
    "measurement_date D!", "measurement_datetime T", "measurement_time S",
    "measurement_type_concept_id I!", "operator_concept_id I", "value_as_number N",
    "value_as_concept_id I", "unit_concept_id I", "range_low N", "range_high N",
    "provider_id I", "visit_occurrence_id I", "visit_detail_id I",
    "measurement_source_value S", "measurement_source_concept_id I", "unit_source_value S",
    "unit_source_concept_id I", "value_source_value S", "measurement_event_id I",
    "meas_event_field_concept_id I", id_column="measurement_id")
OBSERVATION = _table(
    "observation", "observation_id I!", "person_id I!", "observation_concept_id I!",
    "observation_date D!", "observation_datetime T", "observation_type_concept_id I!",
    "value_as_number N", "value_as_string S", "value_as_concept_id I",
    "qualifier_concept_id I", "unit_concept_id I", "provider_id I", "visit_occurrence_id I",
    "visit_detail_id I", "observation_source_value S", "observation_source_concept_id I",
    "unit_source_value S", "qualifier_source_value S", "value_source_value S",
    "observation_event_id I", "obs_event_field_concept_id I", id_column="observation_id")
DEATH = _table(
    "death", "person_id I!", "death_date D!", "death_datetime T", "death_type_concept_id I",
    "cause_concept_id I", "cause_source_value S", "cause_source_concept_id I")
CARE_SITE = _table(
    "care_site", "care_site_id I!", "care_site_name S", "place_of_service_concept_id I",
    "location_id I", "care_site_source_value S", "place_of_service_source_value S",
    id_column="care_site_id")

CDM_TABLES: tuple[CdmTable, ...] = (
    PERSON, OBSERVATION_PERIOD, CONDITION_OCCURRENCE, DRUG_EXPOSURE, PROCEDURE_OCCURRENCE,
    MEASUREMENT, OBSERVATION, DEATH, CARE_SITE,
)
"""Every table alsrwe writes, in the order it writes them (and the only ones the reader uses)."""
CDM_BY_NAME: Mapping[str, CdmTable] = MappingProxyType({t.name: t for t in CDM_TABLES})
CDM_VERSION = "5.4"

__all__ = ["ARROW_TYPES", "CARE_SITE", "CDM_BY_NAME", "CDM_TABLES", "CDM_VERSION",
           "CONDITION_OCCURRENCE", "DEATH", "DRUG_EXPOSURE", "IBIS_TYPES", "MEASUREMENT",
           "OBSERVATION", "OBSERVATION_PERIOD", "PERSON", "PROCEDURE_OCCURRENCE", "CdmColumn",
           "CdmTable", "CdmType"]
