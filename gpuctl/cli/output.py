"""Terminal output shared by commands: diagnostics on stderr, JSON on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

from gpuctl.errors import Diagnostic


def print_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(str(diagnostic), file=sys.stderr)


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
