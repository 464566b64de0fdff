"""Conformance suite: xploss against the torch and Keras built-ins, on every backend.

``python -m conformance`` runs :data:`conformance.cases.CASES` and writes
``reports/conformance.{md,html}``; :func:`conformance.cases.coverage` and
:func:`conformance.cases.equivalence_rows` feed the hygiene tests and the docs.
"""
