"""Conformance cases of the boxes family (#9: being written)."""


def cases() -> list:
    return []
