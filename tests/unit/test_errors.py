"""Exit codes are what a script calling omero-web-deb branches on: one per kind
of failure, all declared in builder/errors.py."""

from __future__ import annotations

import importlib
import pkgutil

import builder
from builder import errors
from builder.errors import BuildError


def _all_error_classes() -> set[type[BuildError]]:
    for module in pkgutil.walk_packages(builder.__path__, "builder."):
        if module.name != "builder.__main__":  # it runs the CLI
            importlib.import_module(module.name)
    found: set[type[BuildError]] = set()
    pending: list[type[BuildError]] = [BuildError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_class_is_declared_in_errors_module() -> None:
    elsewhere = sorted(
        c.__qualname__ for c in _all_error_classes() if c.__module__ != errors.__name__
    )
    assert elsewhere == []


def test_each_exit_code_names_one_kind_of_failure() -> None:
    owners: dict[int, list[str]] = {}
    for cls in _all_error_classes():
        if "exit_code" in vars(cls):
            owners.setdefault(cls.exit_code, []).append(cls.__name__)
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}
    assert sorted(owners) == list(range(1, 9))
