"""``resdenoise denoise``'s memory (audit20b-23): the searches hold what they use, the
choice is the same bit for bit, and a file too large for the choice is refused saying
what it would need.

The digests below were taken on main (c690405) before the change: the chosen output of
:class:`resdenoise.plans.AutomaticPlanner` (its plan run on the signal), every entry of its
report, and :func:`resdenoise.multilevel.signal_thresholds` on a long signal (the sampled
path, from 65536 samples)."""

from __future__ import annotations

import hashlib
import tracemalloc

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from resdenoise import stream_choice
from resdenoise.cli import cli
from resdenoise.multilevel import plan_levels, signal_thresholds
from resdenoise.plans import AutomaticPlanner, automatic_planner
from resdenoise.residual_levels import as_residual
from resdenoise.sure import FRESH_PROBES, PROBE_SEED, gain_sums, sure_probe


def _signals():
    rng = np.random.default_rng(7)
    n = 3000
    t = np.arange(n)
    clean = 0.3 * np.sin(2 * np.pi * t / 37) * (t % 1000 < 600) + 0.2 * np.sign(
        np.sin(2 * np.pi * t / 1500)
    )
    yield np.stack([clean + 0.05 * rng.standard_normal(n) for _ in range(2)], 1)
    pink = np.fft.irfft(
        np.fft.rfft(rng.standard_normal(4096)) / np.maximum(np.arange(2049), 1) ** 0.5
    )
    yield np.sin(np.arange(4096) / 300) + 3 * pink
    x = np.repeat([0.0, 1.0, -0.5, 0.7], 600) + 0.1 * rng.standard_normal(2400)
    x[rng.integers(0, 2400, 12)] += 3.0
    yield x
    yield np.stack(
        [
            np.sin(t / 24) * 5 + 0.2 * rng.standard_normal(n),
            np.cos(t / 50) + 0.3 * rng.standard_normal(n),
        ],
        1,
    )


#: (choice, digest of the output, digest of the report's entries), on main; the first,
#: third and fourth taken again after the impulse check's scale floor (imp21): the first
#: and fourth report fewer impulses found (impulses_detected [1, 1] -> [1, 0], a channel's
#: [1] -> [0]; the same output bits), the third finds its 12th spike (at 1201; the stage
#: replaced 11 before) and then chooses diffuse perona-malik without scales: MSE against
#: its clean steps 4.3e-3 -> 2.7e-5.  The report digests taken again after fix23b added
#: entries (A23b-3's expected_gain_db_range: first, third, fourth's channels; A23b-2's
#: noise_sigma_of / expected_gain_db_of: second); without them, the digests before, and
#: the same choices and output bits.
ON_MAIN = [
    ("diffuse perona-malik, scales", "d9595995ad76abe5", "1c93d3c35735"),
    ("shrink garrote, scales", "e03003ce39c96fac", "d3cbf878a6f8"),
    ("diffuse perona-malik", "248d67e86d2dfc69", "f2e11681b3a4"),
    ("channels apart", "85fdaed084771b5c", "78f69d9a030d"),
]


def _long(n: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.cumsum(rng.standard_normal((n, 2)), 0) * 0.01 + 0.1 * rng.standard_normal((n, 2))


PER_LEVEL = [np.array([0.1, 0.12]) * 0.9**j for j in range(8)]


def test_denoise_choice_and_output_as_on_main():
    """Fails if the memory changes altered a choice, an output bit or a report entry."""
    for x, want in zip(_signals(), ON_MAIN, strict=True):
        plan, extra = automatic_planner()(x)
        out = np.ascontiguousarray(plan.run(np.asarray(x, dtype=float)), dtype=float)
        entries = repr(sorted((k, repr(v)) for k, v in extra.items())).encode()
        got = (
            extra.get("automatic_choice", "channels apart"),
            hashlib.sha256(out.tobytes()).hexdigest()[:16],
            hashlib.sha256(entries).hexdigest()[:12],
        )
        assert got == want


def test_signal_thresholds_sampled_path_as_on_main():
    thetas, value = signal_thresholds(_long(70000), "garrote", PER_LEVEL, [None] * 8)
    assert thetas == [
        0.5668333220671726,
        0.5101499898604555,
        0.16232873276365944,
        0.07304792974364674,
        0.06574313676928206,
        0.029584411546176928,
        0.00665649259788981,
        0.033889327595178785,
    ]
    assert value.hex() == "0x1.40ad8971cea2ep-6"


def _traced_peak(call) -> int:
    """The peak of traced memory above what was held before ``call()``."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_signal_thresholds_holds_a_sample_of_each_level_of_the_frame():
    """The k corrections the sweeps add are kept; the frame's coefficients of a long
    signal (2N positions a level, and the approximation band never used) were all held
    besides, 398 bytes a value before (n = 70000), 254 after.  The bound: the
    corrections and 28 more arrays of the signal's size."""
    n = 70000  # from LEVELS_SAMPLE_FROM: a sample of each level's details
    f2 = _long(n)
    k = len(PER_LEVEL)
    peak = _traced_peak(lambda: signal_thresholds(f2, "garrote", PER_LEVEL, [None] * k))
    assert peak <= (k + 28) * f2.nbytes


def _one_run_of_all(run, f2, sigma, probes=FRESH_PROBES):
    """fresh_sums as it was: the signal and its probed copies in one run, side by side."""
    n, c = f2.shape
    probed = [sure_probe(f2, sigma, PROBE_SEED + k) for k in range(1, probes + 1)]
    u = np.asarray(run(np.concatenate([f2, *(f2 + eps * b for b, eps in probed)], axis=1)))
    return np.mean(
        [gain_sums(f2, u[:, :c], u[:, k * c : k * c + c], *probed[k - 1]) for k in range(1, 5)],
        axis=0,
    )


def test_fresh_sums_runs_the_probes_apart_with_the_same_bits():
    """The sums are those of the one run of all (bit for bit: the channels run apart);
    its peak was the run of 5c channels, 352 bytes a value of a residual-levels plan,
    80 after.  The bound: 20 arrays of the signal's size."""
    from resdenoise.sure import fresh_sums

    f2 = _long(20000)
    sigma = np.array([0.1, 0.12])
    plan = as_residual(plan_levels("garrote", [0.3, 0.2, 0.1, None, None, None, None]), 4)
    assert np.array_equal(fresh_sums(plan.run, f2, sigma), _one_run_of_all(plan.run, f2, sigma))
    assert _traced_peak(lambda: fresh_sums(plan.run, f2, sigma)) <= 20 * f2.nbytes


def test_denoise_refuses_a_file_over_its_limit_saying_its_cost(tmp_path, monkeypatch):
    """A 16-bit WAV over denoise's limit (here lowered, as the streaming threshold) is
    refused before any pass, saying its samples and the memory reading it whole would take;
    under the 64 MiB of the other automatic modes it was read whole (~400 bytes a
    sample: a 5-minute stereo recording ~11 GB)."""
    src = tmp_path / "rec.wav"
    x = 0.1 * np.random.default_rng(0).standard_normal((600, 2))
    sf.write(src, x, 8000, subtype="PCM_16")
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 1000)
    monkeypatch.setattr(AutomaticPlanner, "whole_limit", 2000)
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 2
    per = AutomaticPlanner.bytes_per_sample
    assert result.output.strip().endswith(
        f"but the file is larger than {2000 / 2**20:g} MiB, which is read in chunks; "
        "filter it with diffuse and --time auto (one family's search, about 65 bytes a "
        "sample, for a file up to 64 MiB), or pass --chunk-size 0 to load it whole anyway "
        f"(about {per} bytes of memory a sample: its 1,200 samples, ~{1200 * per / 1e9:.2g} GB)"
    ), result.output
    assert not (tmp_path / "o.wav").exists()
    monkeypatch.setattr(AutomaticPlanner, "whole_limit", 1 << 30)  # read whole: runs
    result = CliRunner().invoke(cli, ["denoise", str(src), "-o", str(tmp_path / "o.wav")])
    assert result.exit_code == 0, result.output
