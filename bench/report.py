"""How the benchmark commands hand over their figures: printed, and as JSON for the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO


def write_figures(figures: dict[str, Any], json_path: str | None, out: TextIO) -> None:
    """Write `figures` to `json_path` (if given) as indented JSON, and say where."""
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2) + "\n")
        out.write(f"written to {json_path}")


def print_and_write(figures: dict[str, Any], json_path: str | None, out: TextIO) -> None:
    """One `name: value` line per figure, then the JSON file (if asked for)."""
    for name, value in figures.items():
        out.write(f"{name}: {value}")
    write_figures(figures, json_path, out)
