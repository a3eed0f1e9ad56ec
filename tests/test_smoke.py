"""Smoke test: the package imports and the CLI answers --version."""

import pytest

from agreement.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "agreement" in capsys.readouterr().out
