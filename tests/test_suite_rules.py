"""The suite's own rules: a missing requirement skips with its reason but fails under CI; skips are listed."""

from __future__ import annotations

import tomllib

import conftest
import pytest
from conftest import REPO


def test_a_missing_requirement_skips_outside_ci_and_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "PTC_ROOT", tmp_path / "nowhere")
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="PTC corpus not found at .*nowhere"):
        conftest.require_ptc()
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        conftest.require_ptc()
    with pytest.raises(pytest.fail.Exception, match="no_such_module_here is not installed"):
        conftest.require_module("no_such_module_here")
    monkeypatch.setattr(conftest, "PTC_ROOT", tmp_path)
    assert conftest.require_ptc() == tmp_path


def test_pytest_lists_skips_with_their_reasons():
    opts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    report = [o[2:] for o in opts["addopts"].split() if o.startswith("-r")]
    assert report and "s" in report[0] and "f" in report[0], "pytest must list skips and failures (-rfEs)"
