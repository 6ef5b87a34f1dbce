"""Biomarkers, labs and function measurements with their units (see ../shared/domain.md §7, §9.2)."""

from __future__ import annotations

from enum import StrEnum


class MeasurementKind(StrEnum):
    """What was measured; the matrix is part of the kind (serum, plasma or CSF)."""

    NFL_SERUM = "nfl_serum"
    NFL_PLASMA = "nfl_plasma"
    NFL_CSF = "nfl_csf"
    PNFH_CSF = "pnfh_csf"
    SVC_PERCENT = "svc_percent"
    FVC_PERCENT = "fvc_percent"
    HHD_MEGASCORE = "hhd_megascore"
    WEIGHT_KG = "weight_kg"
    CSF_WBC = "csf_wbc"
    CSF_PROTEIN = "csf_protein"
    CSF_SOD1 = "csf_sod1"
