"""Every script in examples/ runs offscreen and writes a PNG that is not blank."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))

pytestmark = [pytest.mark.render, pytest.mark.slow]


def test_examples_found():
    names = {p.name for p in EXAMPLES}
    assert {"plot_anatomy.py", "plot_stat_map.py", "plot_surface.py", "plot_glass_brain.py",
            "plot_regions.py"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_renders_a_figure(script, tmp_path):
    from PIL import Image

    out = tmp_path / f"{script.stem}.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ETS_TOOLKIT="qt")
    env.pop("DISPLAY", None)
    run = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert out.is_file(), f"{script.name} wrote no {out.name}: {run.stdout}"
    img = np.asarray(Image.open(out).convert("RGB"))
    assert min(img.shape[:2]) >= 200
    drawn = np.any(img < 235, axis=-1)
    assert drawn.mean() > 0.05, f"{script.name}: the figure is almost blank"
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"{script.name}: only {len(colours)} colours, not a rendered scene"
