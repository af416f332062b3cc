"""Comparing extracted form fields with a truth file's."""

from __future__ import annotations

from typing import Any

import pytest


def assert_fields(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every field right: numbers within 0.5 %, text exactly, null where the truth has null."""
    wrong = {}
    for field, value in want.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            if got.get(field) is None or got[field] != pytest.approx(value, rel=0.005):
                wrong[field] = (value, got.get(field))
        elif got.get(field) != value:
            wrong[field] = (value, got.get(field))
    assert not wrong, f"(truth, extracted): {wrong}"
