"""The study YAML: its schema (pydantic), loading with line-aware errors, and expansion into work."""

from archscale.study.load import load_study, study_schema
from archscale.study.spec import StudySpec

__all__ = ["StudySpec", "load_study", "study_schema"]
