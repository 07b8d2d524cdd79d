"""Do no harm on white noise, on real measured series no other benchmark holds.

Held out: chosen before the rules of issue 15's "do no harm" were tuned on
``bench_harm.py`` and ``bench_classes.py``, and not to be tuned on.  One class,
``fresh``, of series shipped inside packages (nothing downloaded at run time):

* statsmodels: the quarterly macro series that ``bench_harm.py`` does not use
  (real consumption, investment, government spending, disposable income, CPI,
  M1, the real interest rate; 203 quarters), Danish money demand (log real
  money, log real income, bond rate; 55 quarters), German interest and
  inflation (107 quarters), the electrical equipment index (257 months);
* pmdarima (the ``bench`` extra): Australian wine sales (176 months), Canadian
  lynx trappings (114 years), a heart rate (150 samples), Australian wool
  production (119 quarters), Australian beer (211 quarters), air passengers
  (144 months), Australian residents (89 quarters), British electricity demand
  (first 2048 half-hours), monthly sunspots (2820 months), Microsoft's closing
  price (first 2048 trading days).

White Gaussian noise at 5, 10 and 30 % of the clean series' std, noise seeds
200 and 201, as ``bench_harm.py`` (whose run and summary this uses).
``python benchmarks/bench_fresh.py [--json PATH]`` with the ``bench`` extra.
Not a timed test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_harm  # noqa: E402


def cases() -> list[tuple[str, str, np.ndarray]]:
    """``(class, name, clean)`` of every series."""
    import pmdarima.datasets as pm
    from statsmodels import datasets
    from statsmodels.datasets import elec_equip

    macro = datasets.macrodata.load_pandas().data
    danish = datasets.danish_data.load_pandas().data
    germany = datasets.interest_inflation.load_pandas().data
    out = [
        (f"macro {k} (203)", macro[k])
        for k in ("realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "realint")
    ]
    out += [(f"danish {k} (55)", danish[k]) for k in ("lrm", "lry", "ibo")]
    out += [(f"germany {k} (107)", germany[k]) for k in ("Dp", "R")]
    out += [("elec_equip (257)", elec_equip.load().data.iloc[:, 0])]
    out += [
        ("wineind (176)", pm.load_wineind()),
        ("lynx (114)", pm.load_lynx()),
        ("heartrate (150)", pm.load_heartrate()),
        ("woolyrnq (119)", pm.load_woolyrnq()),
        ("ausbeer (211)", pm.load_ausbeer()[:211]),
        ("airpassengers (144)", pm.load_airpassengers()),
        ("austres (89)", pm.load_austres()),
        ("taylor first 2048", pm.load_taylor()[:2048]),
        ("sunspots monthly (2820)", pm.load_sunspots()),
        ("msft close first 2048", pm.load_msft()["Close"][:2048]),
    ]
    return [("fresh", name, np.asarray(x, dtype=float)) for name, x in out]


if __name__ == "__main__":
    sys.exit(bench_harm.main(signals_=cases(), doc=__doc__))
