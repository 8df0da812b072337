"""The fast YAML reader (libyaml) must see every file exactly as PyYAML's own parser does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content import yamlsource

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted({*ROOT.glob("dialogs/**/*.yaml"), *ROOT.glob("locales/*.yaml"),
                *ROOT.glob("docs/example/**/*.yaml"), *ROOT.glob("tests/broken/**/*.yaml"),
                *ROOT.glob("tests/data/**/*.yaml")})


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_libyaml_reads_each_file_as_the_pure_parser_does(path):
    fast, fast_problems = yamlsource.read_yaml(path)
    pure, pure_problems = yamlsource.read_yaml(path, loader_class=yamlsource._PureLoader)
    assert [(p.position.line, p.severity) for p in fast_problems] == \
        [(p.position.line, p.severity) for p in pure_problems]
    assert (fast is None) == (pure is None)
    if fast is not None:
        assert fast.data == pure.data
        assert fast.positions == pure.positions


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_the_fast_reader_is_the_one_in_use():
    assert yamlsource._KebasLoader is not yamlsource._PureLoader
    document, _ = yamlsource.read_yaml("x.yaml", text="answer: no\nflag: true\n")
    assert document.data == {"answer": "no", "flag": True}, "yes/no stay words"
