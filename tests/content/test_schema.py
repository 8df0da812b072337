"""The JSON Schema editors use: generated from the models, never stale, and strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bot.content.yamlsource import read_yaml
from bot.core.model import dialog_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "dialogs" / "dialog.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def example_data():
    document, problems = read_yaml(ROOT / "docs" / "example" / "dialogs" / "contoh.yaml")
    assert not problems
    return document.data


def test_shipped_schema_matches_the_models():
    shipped = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped == dialog_json_schema(), "run 'kebas schema' to regenerate it"


def test_schema_accepts_the_example_and_the_shipped_dialog(validator):
    assert list(validator.iter_errors(example_data())) == []
    for dialog_file in (ROOT / "dialogs").glob("*.yaml"):
        document, _ = read_yaml(dialog_file)
        assert list(validator.iter_errors(document.data)) == [], dialog_file.name


def test_schema_underlines_an_unknown_key_and_a_wrong_level(validator):
    misspelt = example_data()
    misspelt["nodes"][1]["options"][0]["sett"] = {"x": 1}
    assert any("sett" in error.message for error in validator.iter_errors(misspelt))
    wrong_level = example_data()
    wrong_level["red_flags"][0]["level"] = "darurat"
    assert any("darurat" in error.message for error in validator.iter_errors(wrong_level))


def test_every_dialog_file_names_the_schema_on_its_first_line():
    for dialog_file in [*(ROOT / "dialogs").glob("*.yaml"),
                        *(ROOT / "docs" / "example" / "dialogs").glob("*.yaml")]:
        first = dialog_file.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), dialog_file
        target = (dialog_file.parent / first.split("$schema=")[1].strip()).resolve()
        assert target == SCHEMA_FILE.resolve(), f"{dialog_file} points at {target}"
