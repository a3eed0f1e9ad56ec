"""Smoke test: the package imports and the CLI answers --version."""

import pytest

from agreement.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "agreement" in capsys.readouterr().out


def test_version_is_the_one_pyproject_declares(capsys):
    import re
    from pathlib import Path

    import agreement

    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"', text, re.M).group(1)
    assert agreement.__version__ == declared
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"agreement {declared}"
