"""The sample signals are made by the project's own script, the same bytes every time."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_samples_remakes_the_committed_files_byte_for_byte(tmp_path):
    script = ROOT / "sample_signals" / "make_samples.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, timeout=120)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert "noisy_stereo.wav" in made and "steps.csv" in made
    for name in made:
        assert (tmp_path / name).read_bytes() == (ROOT / "sample_signals" / name).read_bytes(), name
