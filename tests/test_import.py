"""``import ivory`` stays light: no MLflow, Optuna, scikit-learn or torch."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("mlflow", "optuna", "sklearn", "torch")


def test_import_ivory_loads_no_heavy_library() -> None:
    code = f"import sys, ivory; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_public_names_are_exported() -> None:
    import ivory

    for name in ivory.__all__:
        assert hasattr(ivory, name), name
