"""Running experiments: from a config to a record on disk.

Configs (:mod:`~gaaf.experiments.config`), datasets (:mod:`~gaaf.experiments.data`),
models, the training loop and its probes, records with their provenance and locks
(:mod:`~gaaf.experiments.runs`), each chapter's plan of runs, and the benchmarks. Needs
the package's ``experiments`` extra. Imports the core
(:mod:`gaaf`) and nothing of the analysis or the book.
"""
