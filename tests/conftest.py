import sys
from pathlib import Path

# The package lives in operator/; an editable install puts it on the path too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
