"""The benchmark runner (``bench/``) is not an installed package: these tests import it from the repository root."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
