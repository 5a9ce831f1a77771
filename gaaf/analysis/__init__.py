"""Judging records: statistics over seeds, numbers from one record, the paper's own
numbers, the verdict rule (:mod:`~gaaf.analysis.verdicts`, written once) and each
claim's comparisons. Imports the experiments and the core, never the book: no figure
and no table is made here.
"""
