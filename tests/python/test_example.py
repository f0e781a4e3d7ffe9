"""examples/python/analytics.py trains, scores and writes its two PNGs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "analytics.py"


def test_analytics_example_writes_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    p = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True,
                       env=dict(os.environ), timeout=300)
    assert p.returncode == 0, p.stderr
    assert "held-back AUC" in p.stdout
    for name in ("funnel.png", "scores.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
