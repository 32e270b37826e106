"""The package's metadata: the current license field (PEP 639), so that pip and setuptools
print no deprecation box when paperwire is installed."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.paths import REPO


def test_the_license_is_an_spdx_expression_and_no_classifier_repeats_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert isinstance(project["license"], str)  # not the deprecated {text = ...} table
    assert project["license"] == "MIT"
    assert (REPO / "LICENSE").is_file()
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]
    # setuptools reads a license string from version 77 on; an older one refuses it.
    setuptools = next(
        Requirement(r) for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")
    )
    assert not setuptools.specifier.contains("76.99")
