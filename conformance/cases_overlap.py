"""Conformance cases of the overlap family (#9: being written)."""


def cases() -> list:
    return []
