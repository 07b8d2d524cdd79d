"""The noise estimators of resdenoise.noise, against implementations written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resdenoise import noise, quiet_windows
from resdenoise.errors import ParameterError
from resdenoise.median import quantile_from, quantile_ranks
from resdenoise.noise import estimate_noise, estimator_for


def quiet_reference(x: np.ndarray) -> float:
    """quiet-windows written out: third differences, windows, np.quantile, calibration."""
    n = x.shape[0]
    length = min(32, (n - 3) // 16)
    d = np.diff(np.asarray(x, float), 3) / math.sqrt(20.0)
    k = d.size // length
    energies = np.array([np.mean(d[j * length : (j + 1) * length] ** 2) for j in range(k)])
    return math.sqrt(np.quantile(energies, 0.2) / noise.calibration(length, k))


@pytest.mark.parametrize("n", [67, 100, 523, 4096])
def test_quiet_windows_equals_the_written_out_estimator(rng, n):
    x = rng.normal(0.0, 1.0, (n, 3)) * [0.1, 1.0, 30.0] + np.linspace(0, 5, n)[:, None]
    est = estimate_noise(x)
    assert est.shape == (3,)
    np.testing.assert_allclose(est, [quiet_reference(x[:, c]) for c in range(3)], rtol=1e-12)


@pytest.mark.parametrize("length", [4, 7, 32])
def test_window_energies_in_pieces_are_the_whole_array_formula_exactly(rng, length, monkeypatch):
    """The energies are computed in pieces of ENERGY_ROWS windows (scratch arrays in the
    cache): exactly the numbers of the formula on whole-signal temporaries, also across
    the pieces' borders and with a partial last window."""
    monkeypatch.setattr(quiet_windows, "ENERGY_ROWS", 5)  # many pieces on a short signal
    for n in (3, 4, 3 + length, 1000, 1000 + length * 37 + 2):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3) + 1e3
        d = ((x[3:] - x[:-3]) + 3.0 * (x[1:-2] - x[2:-1])) / math.sqrt(20.0)
        k = d.size // length
        expected = np.mean(d[: k * length].reshape(k, length) ** 2, axis=1)
        got = noise.window_energies(x, length)
        assert got.shape == expected.shape and np.array_equal(got, expected), n


@pytest.mark.parametrize("order", [1, 2, 4, 8, 16])
def test_higher_order_energies_compiled_are_np_diffs_bit_for_bit(rng, order):
    """Differences of other orders than 3 in windows of 32 (the compiled loop where built):
    the numbers of ``np.diff``, the division, the square and ``np.mean`` per window, also
    with a partial last window, huge and tiny magnitudes, infinities and NaN."""
    if noise._compiled() is None:
        pytest.skip("the compiled loop is not built")
    for n in (order, order + 31, order + 32, 1000, 5000 + 17):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-200, 200, n)
        if n > 900:
            x[[5, 300, 301]] = [np.inf, -np.inf, np.nan]
        d = np.diff(x, order) / math.sqrt(math.comb(2 * order, order))
        k = d.size // 32
        with np.errstate(invalid="ignore", over="ignore"):
            expected = np.mean(d[: k * 32].reshape(k, 32) ** 2, axis=1)
            got = noise.window_energies(x, 32, order)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(
            got.view(np.int64)[np.isfinite(expected)],
            expected.view(np.int64)[np.isfinite(expected)],
        )
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_array_equal(got[np.isinf(expected)], expected[np.isinf(expected)])


def test_higher_order_energies_refuse_bad_arguments():
    compiled = noise._compiled()
    if compiled is None:
        pytest.skip("the compiled loop is not built")
    x = np.zeros(100)
    with pytest.raises(ValueError, match="order"):
        compiled.diff_energies32(x, 17, 1.0, np.empty(1))
    with pytest.raises(ValueError, match="fewer"):
        compiled.diff_energies32(x, 8, 1.0, np.empty(3))
    with pytest.raises(TypeError, match="float64"):
        compiled.diff_energies32(x.astype(np.float32), 8, 1.0, np.empty(1))


@pytest.mark.parametrize("length, windows", [(32, 5000), (32, 16), (6, 16)])
def test_calibration_is_the_expected_quantile_of_white_noise(length, windows):
    """An independent simulation (another generator seed, np.quantile)."""
    rng = np.random.default_rng(7)
    reps = max(1, 60000 // windows)
    values = []
    for _ in range(reps):
        d = np.diff(rng.standard_normal(windows * length + 3), 3) / math.sqrt(20.0)
        values.append(np.quantile(np.mean(d.reshape(windows, length) ** 2, axis=1), 0.2))
    assert noise.calibration(length, windows) == pytest.approx(np.mean(values), rel=0.02)


@pytest.mark.parametrize("sigma", [1e-3, 1.0, 37.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unbiased_on_white_noise(sigma, seed):
    x = np.random.default_rng(seed).normal(0.0, sigma, 2**16)
    assert estimate_noise(x)[0] == pytest.approx(sigma, rel=0.03)


def test_third_difference_noise_is_normalised_to_unit_white_noise():
    """third_difference_noise: median |d| / 0.6745 over third differences divided by the
    norm of their weights (1, -3, 3, -1), sqrt(20), so unit variance for unit white noise.
    By hand: a cubic k^3 has third difference 6, a quadratic 0; and on white noise the
    estimate is sigma (the median of |N(0, sigma^2)| is 0.6745 sigma)."""
    weights = [(-1) ** j * math.comb(3, j) for j in range(4)]
    norm = math.sqrt(sum(w * w for w in weights))
    assert norm == math.sqrt(20.0)
    k = np.arange(12.0)
    got = noise.third_difference_noise(np.stack([k**3, 5 * k**2 - k + 2], axis=1))
    np.testing.assert_allclose(got, [6.0 / norm / 0.6745, 0.0], rtol=1e-14, atol=1e-12)
    x = np.random.default_rng(4).normal(0.0, 2.5, (2**16, 2))
    np.testing.assert_allclose(noise.third_difference_noise(x), [2.5, 2.5], rtol=0.03)


def test_mean_over_seeds_unbiased_on_short_white_noise():
    """The calibration counts the windows: no small-sample bias (stated error ~17 % at 100)."""
    est = [estimate_noise(np.random.default_rng(s).standard_normal(100))[0] for s in range(300)]
    assert np.mean(est) == pytest.approx(1.0, abs=0.03)
    assert np.std(est) < 0.2


def fine_scale_signal(n: int, rng) -> np.ndarray:
    """Speech-like: bursts of high-frequency tones (0.15-0.45 cycles/sample) on
    about 40 % of the samples, pauses between, and a slow drift."""
    t = np.arange(n)
    out = 0.5 * np.sin(2 * np.pi * t / n)
    pos = 0
    while pos < n:
        length = int(rng.integers(n // 40, n // 15))
        seg = t[pos : pos + length]
        freq = rng.uniform(0.15, 0.45)
        out[pos : pos + length] += np.hanning(seg.size) * np.sin(2 * np.pi * freq * seg)
        pos += length + int(rng.integers(length, 2 * length))
    return out


@pytest.mark.parametrize("level", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_within_15_percent_on_fine_scale_content_where_mad_is_not(level, seed):
    rng = np.random.default_rng(seed)
    clean = fine_scale_signal(8192, rng)
    sigma = level * np.std(clean)
    f = clean + rng.normal(0.0, sigma, clean.size)
    assert estimate_noise(f)[0] == pytest.approx(sigma, rel=0.15)
    if level < 0.3:  # what the MAD on the finest Haar details reads there
        assert estimate_noise(f, "mad-haar")[0] > 1.3 * sigma


def test_within_10_percent_on_jumps_and_smooth_content(rng):
    n = 2048
    t = np.arange(n) / n
    clean = np.where(t < 0.3, 0.0, 4.0) + np.where(t > 0.7, -3.0, 0.0) + np.sin(8 * np.pi * t)
    for sigma in (0.05, 0.2, 1.0):
        f = clean + rng.normal(0.0, sigma, n)
        assert estimate_noise(f)[0] == pytest.approx(sigma, rel=0.1)


def test_short_signals_fall_back_to_mad_haar(rng):
    x = rng.standard_normal(30)
    assert estimator_for(30) == "mad-haar" and estimator_for(67) == "quiet-windows"
    np.testing.assert_array_equal(estimate_noise(x), estimate_noise(x, "mad-haar"))
    assert estimator_for(30, "mad-haar") == "mad-haar"


def test_constant_signal_has_no_noise_and_no_nan():
    for n in (5, 40, 1000):
        assert estimate_noise(np.full(n, 3.0))[0] == 0.0


def test_unknown_estimator_is_refused():
    with pytest.raises(ParameterError, match="unknown noise estimator"):
        estimate_noise(np.zeros(100), "guess")


# --------------------------------------------------------------------------
# --sigma: a known noise level, in the library and on the command line
# --------------------------------------------------------------------------


def write_csv(path, x):
    path.write_text("\n".join(repr(float(v)) for v in x) + "\n")


@pytest.mark.parametrize("chunk", ["0", "50"])
def test_cli_sigma_sets_the_universal_lambda(tmp_path, rng, chunk):
    import json

    from click.testing import CliRunner

    from resdenoise.cli import cli

    f = np.repeat([0.0, 1.0, -1.0], 100) + rng.normal(0.0, 0.3, 300)
    write_csv(tmp_path / "in.csv", f)
    args = ["diffuse", str(tmp_path / "in.csv"), "--time", "2", "--sigma", "0.25", "-q"]
    args += ["-o", str(tmp_path / "o.csv"), "--report", str(tmp_path / "r.json")]
    result = CliRunner().invoke(cli, args + ["--chunk-size", chunk])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    params = report["parameters"]
    assert params["noise_sigma"] == [0.25] and params["noise_estimator"] == "given"
    theta = 0.25 * math.sqrt(2.0 * math.log(300))
    assert params["lambda"] == pytest.approx(math.sqrt(2.0) * theta, rel=1e-12)
    # the report still measures the input's noise, and names the estimator
    assert report["noise_estimator"] == "quiet-windows"
    assert report["noise_sigma"] == pytest.approx(list(estimate_noise(f)), rel=1e-12)


def test_cli_sigma_must_be_positive(tmp_path):
    from click.testing import CliRunner

    from resdenoise.cli import cli

    write_csv(tmp_path / "in.csv", np.zeros(10))
    result = CliRunner().invoke(cli, ["diffuse", str(tmp_path / "in.csv"), "--sigma", "0"])
    assert result.exit_code == 2 and "--sigma" in result.output


def test_planner_sigma_goes_to_the_automatic_search(rng):
    from resdenoise.autoparams import choose_parameters
    from resdenoise.pipeline import planner

    f = np.repeat([0.0, 2.0], 200) + rng.normal(0.0, 0.5, 400)
    plan, extra = planner("diffuse", "perona-malik", time="auto", sigma=0.5)(f)
    choice = choose_parameters(f, "perona-malik", "diffusivity", sigma=0.5)
    assert plan.steps == choice.steps and plan.nl.lam == choice.nl.lam
    assert extra["noise_sigma"] == [0.5] and extra["noise_estimator"] == "given"
    other = choose_parameters(f, "perona-malik", "diffusivity", sigma=0.05)
    assert other.nl.lam < choice.nl.lam  # the level is used, not ignored
    with pytest.raises(ParameterError, match="sigma"):
        planner("diffuse", "linear", steps=1, sigma=-1.0)


def test_cli_sigma_with_a_network_of_given_lambdas_is_said_unused(tmp_path):
    # (audit17b B7: it was refused, "--network has none", also where the file's stop or
    # automatic lambda takes it; now used there, and said unused as for other commands)
    from click.testing import CliRunner

    from resdenoise.cli import cli

    write_csv(tmp_path / "in.csv", np.zeros(10))
    net = tmp_path / "n.toml"
    net.write_text('[[block]]\nactivation = "tanh"\nlambda = 1.0\nrepeat = 2\n')
    out = str(tmp_path / "o.csv")
    args = ["resnet", str(tmp_path / "in.csv"), "--network", str(net), "--sigma", "0.1", "-o", out]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "(--sigma) is not used" in result.output


def simulation_at_once(length: int, windows: int, order: int) -> float:
    """The calibration simulation written out: each repetition's normals drawn at once."""
    reps = max(1, noise.CALIBRATION_WINDOWS // windows)
    rng = np.random.default_rng(noise.CALIBRATION_SEED)
    lo, hi, weight = quantile_ranks(windows)
    values = np.empty(reps)
    for r in range(reps):
        x = rng.standard_normal(windows * length + order)
        if order == 3:  # window_energies' formula for third differences
            d = ((x[3:] - x[:-3]) + 3.0 * (x[1:-2] - x[2:-1])) / math.sqrt(20.0)
        else:
            d = np.diff(x, order) / math.sqrt(math.comb(2 * order, order))
        energies = np.sort(np.mean(d.reshape(windows, length) ** 2, axis=1))
        values[r] = quantile_from(energies[lo], energies[hi], weight)
    return float(np.mean(values))


@pytest.mark.parametrize("length, windows, order", [(32, 50, 3), (5, 17, 3), (32, 700, 8)])
def test_the_simulation_in_pieces_draws_the_numbers_drawn_at_once(
    length, windows, order, monkeypatch
):
    """The normals are drawn a piece of windows at a time (bounded memory): the same
    calibration, bit for bit, as drawing each repetition's normals at once."""
    monkeypatch.setattr(quiet_windows, "CALIBRATION_PIECE", 7)  # many pieces, a partial last one
    assert noise.simulate_calibration(length, windows, order) == simulation_at_once(
        length, windows, order
    )


def test_a_long_signal_gets_the_large_count_limit_without_simulating(monkeypatch):
    """Beyond the table (more windows of WINDOW samples than it holds) the calibration is
    the table's limit, not a simulation of the signal's own count (which cost a
    signal's worth of normals at run time); another length or order is simulated."""
    noise.calibration.cache_clear()
    monkeypatch.setattr(quiet_windows, "simulate_calibration", lambda *pair: -1.0)
    for order, most in noise.TABLE_WINDOWS.items():
        limit = noise._from_table(noise.WINDOW, noise.LIMIT_WINDOWS, order)
        assert limit is not None and noise._from_table(noise.WINDOW, most + 1, order) is None
        for windows in (most + 1, 524_288, 10**9):
            assert noise.calibration(noise.WINDOW, windows, order) == limit
        assert noise.calibration(noise.WINDOW, most, order) != limit  # the table's own
    assert noise.calibration(noise.WINDOW, 10**6, 5) == -1.0  # an order without a table
    noise.calibration.cache_clear()


@pytest.mark.parametrize("order", [3, 8])
def test_the_limit_is_the_expected_quantile_of_many_windows(order):
    """An independent simulation (another seed, np.quantile) of 2^18 windows agrees
    with the committed limit within 0.3 % (about 6 of its standard errors); so does
    the table's largest count (two draws of 16,384 windows: within 0.6 %)."""
    rng = np.random.default_rng(11)
    length, windows = noise.WINDOW, 1 << 18
    x = rng.standard_normal(windows * length + order)
    d = np.diff(x, order) / math.sqrt(math.comb(2 * order, order))
    expected = np.quantile(np.mean(d.reshape(windows, length) ** 2, axis=1), 0.2)
    limit = noise.calibration(length, noise.LIMIT_WINDOWS, order)
    assert limit == pytest.approx(expected, rel=0.003)
    most = noise.TABLE_WINDOWS[order]
    assert noise.calibration(length, most, order) == pytest.approx(limit, rel=0.006)


def test_the_committed_table_holds_the_simulations(monkeypatch):
    """The table (python -m resdenoise.noise --table) holds exactly table_pairs(), each the
    simulation's number bit for bit (a sample: every length and order, both ends of the
    windows); calibration reads it without simulating, and simulates the others."""
    keys, values = noise._table()
    pairs = noise.table_pairs()
    assert keys.tolist() == [noise._table_key(*p) for p in pairs]
    picked = {0, len(pairs) - 1, *np.random.default_rng(19).choice(len(pairs), 6).tolist()}
    limits = {i for i, p in enumerate(pairs) if p[1] == noise.LIMIT_WINDOWS}
    assert len(limits) == len(noise.TABLE_WINDOWS)  # checked against another simulation
    for order in noise.TABLE_WINDOWS:
        ends = [
            i
            for i, p in enumerate(pairs)
            if p[2] == order and p[0] == noise.WINDOW and i not in limits
        ]
        picked |= {ends[0], ends[-1], min(i for i, p in enumerate(pairs) if p[2] == order)}
    for i in sorted(picked - limits):
        assert values[i] == noise.simulate_calibration(*pairs[i]), pairs[i]
    noise.calibration.cache_clear()
    monkeypatch.setattr(quiet_windows, "simulate_calibration", lambda *pair: -1.0)
    assert noise.calibration(*pairs[5]) == values[5]
    assert noise.calibration(6, 16, 5) == -1.0  # not in the table: simulated
    noise.calibration.cache_clear()


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("frames", [40, 5000, 70_003])  # mad-haar, short and long windows
def test_float32_samples_give_the_estimate_and_span_of_their_widening(
    rng, monkeypatch, compiled, frames
):
    """A float WAV read as stored: the noise level (window energies of the values
    widened column by column, no widened copy) and the span are those of the
    float64 samples, bit for bit, compiled loop or not."""
    from resdenoise.filters import span_of

    if not compiled:
        monkeypatch.setattr(quiet_windows, "_compiled", lambda: None)
    x = (rng.standard_normal((frames, 2)) * [0.3, 1e-3] + [0.0, 0.5]).astype(np.float32)
    wide = x.astype(np.float64)
    assert estimate_noise(x).tobytes() == estimate_noise(wide).tobytes()
    assert estimate_noise(x[:, 1]).tobytes() == estimate_noise(wide[:, 1]).tobytes()
    assert span_of(x) == float(np.ptp(wide)) and span_of(x[:, 0]) == float(np.ptp(wide[:, 0]))
