"""Showing the records: running chapters and glueing their numbers
(:mod:`~gaaf.book.chapter`), tables, the prose each chapter computes
(:mod:`gaaf.book.prose`) and the figures (:mod:`gaaf.book.figures`). The top wing: it
may import anything below it, and nothing imports it.
"""
