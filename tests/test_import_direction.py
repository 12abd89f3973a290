"""The direction of imports the README promises: the two cores are plain Python, the
training app never reaches into the emotions app (it announces activations with a signal), and
the accounts app may use emotions' services but emotions never imports accounts.
import-linter's contracts (pyproject.toml) check the same and more: the training app's layers and
no import cycles among its modules."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> dict[str, set[str]]:
    """For each .py file under `package`, the dotted names of the modules it imports."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


# The model contract: the modules of training the recognition core may read (labels, calibration).
MODEL_CONTRACT = {"training.core.labels", "training.core.calibration"}


@pytest.mark.parametrize(("package", "forbidden"), [
    ("emotions/recognition", {"django", "rest_framework", "channels", "training"}),
    ("training/core", {"django", "rest_framework", "channels", "emotions"}),
    ("training", {"emotions", "accounts", "bench"}),
    ("emotions", {"accounts", "bench"}),  # accounts uses emotions' services (a user's data), never the reverse
    ("accounts", {"bench"}),  # bench holds tools: the product never needs them
    ("fer_site", {"bench"}),
])
def test_imports_go_one_way(package, forbidden):
    offenders = {}
    for path, names in imported_modules(package).items():
        bad = sorted(name for name in names if name.split(".")[0] in forbidden and name not in MODEL_CONTRACT)
        if bad:
            offenders[path] = bad
    assert offenders == {}


def test_the_import_contracts_are_kept():
    """`lint-imports` (pinned in requirements-dev.txt) with the contracts of pyproject.toml."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
