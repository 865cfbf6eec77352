"""Reproduce the study's tables and figures from its own recorded files.

:func:`harness.study.data.load_study` reads the files under a set of
:class:`~harness.study.definitions.StudyDefinitions`; each module computes one family of tables
from that one table (per-celebrity, the result grid, the non-targeted split, most-named
identities, confidence statistics, attribute groups, multi-frame aggregation). ``dfi study``
(:mod:`harness.jobs.study`) runs them all and writes CSV, Markdown and the figure.
"""
