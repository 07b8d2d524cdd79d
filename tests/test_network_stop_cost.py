"""What a network's ``stop = "sure"`` costs: the bumps family's rows in one compiled pass,
each probe's SURE summed where its columns lie in the stack, and the search's progress.
The choice, SURE curves and outputs are the ones of the search written out as it was."""

from __future__ import annotations

import numpy as np
import pytest

from resdenoise import nonlinearities
from resdenoise._families import bump_basis, bumps_g, bumps_phi, bumps_sum
from resdenoise._flux_kernels import _bump_checks, bump_rows, bump_sum
from resdenoise.engine import _kernels, run_blocks, run_strided
from resdenoise.network import build_network, parse_network
from resdenoise.network_stop import block_schedule, choose_depth, stopped_network
from resdenoise.noise import resolve_sigma
from resdenoise.pipeline import run_file
from resdenoise.plans import network_planner
from resdenoise.sure import PROBE_SEED, SureParts, chunk_bounds, sure_parts, sure_probe

compiled = pytest.mark.skipif(
    not hasattr(_kernels(), "bump_rows"), reason="the compiled module is not built"
)

#: A learned network's shape: bumps groups, factors of every lambda, the cap reached.
LEARNED = """
stop = "sure"
max-blocks = 24
lambda-factors = [0.5, 1.0, 2.0]

[[block]]
activation = "bumps"
coefficients = [1e-7, 0.72, 0.19, 0.04, 0.02, 0.028]
lambda-scale = 0.34
repeat = 4

[[block]]
activation = "bumps"
coefficients = [0.0, 0.79, 0.14, 0.03, 0.016, 0.022]
lambda-scale = 0.074
scale = 2
repeat = 3
"""


def bits(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=float).view(np.int64)


@pytest.fixture
def noisy(rng):
    t = np.linspace(0.0, 1.0, 700)
    clean = np.stack([np.where(t < 0.4, 0.0, 1.0) + np.sin(6 * t), np.cos(9 * t)], axis=1)
    return clean + 0.2 * rng.standard_normal(clean.shape)


@compiled
def test_the_compiled_rows_are_numpys_bumps_bit_for_bit(rng):
    rows = bump_rows()
    assert rows is not None  # this machine's C library: glibc's hypot, as the kernel's
    x = np.abs(np.concatenate([_bump_checks(), rng.normal(0, 3, 5000), [2.0**-600, 1e200]]))
    for count in (2, 3, 8, 32):
        for shape in [(x.size,), (x.size // 2, 2), (1,), ()]:
            at = x[: int(np.prod(shape))].reshape(shape)
            assert np.array_equal(
                bits(bump_basis(at, count, rows=rows)), bits(bump_basis(at, count))
            )
    held = x[:999].copy()
    held.flags.writeable = False  # read-only, or not contiguous: NumPy's rows, the same
    for at in (held, np.abs(rng.normal(0, 1, (500, 3)))[:, 1]):
        assert np.array_equal(bits(bump_basis(at, 8, rows=rows)), bits(bump_basis(at, 8)))
    r = rng.normal(0, 2, (3001, 3))
    r[:4, 0] = [np.inf, -np.inf, 1e300, -1e-300]
    c = [0.3, 0.0, 1e-7, 0.2, 0.5]
    with np.errstate(invalid="ignore"):
        assert np.array_equal(bits(bumps_phi(r, 0.7, c, rows)), bits(bumps_phi(r, 0.7, c)))


@compiled
def test_the_compiled_sum_is_numpys_bit_for_bit(rng):
    summed = bump_sum()
    assert summed is not None  # built without fused multiply-add, as setup.py asks
    for count in (1, 2, 3, 8, 32):
        c = rng.uniform(0.0, 1.0, count)
        for n in (1, 7, 511, 512, 513, 5000):
            terms = rng.normal(0.0, 1.0, (count, n))
            assert np.array_equal(bits(bumps_sum(c, terms, summed)), bits(bumps_sum(c, terms)))
    r = rng.normal(0, 2, (3001, 3))
    r[:4, 0] = [np.inf, -np.inf, 1e300, -1e-300]
    c = [0.3, 0.0, 1e-7, 0.2, 0.5]
    rows = bump_rows()
    with np.errstate(invalid="ignore"):
        for form in (bumps_phi, bumps_g):
            assert np.array_equal(bits(form(r, 0.7, c, rows, summed)), bits(form(r, 0.7, c)))
            assert np.array_equal(bits(form(r[5], 0.7, c, rows, summed)), bits(form(r[5], 0.7, c)))


@compiled
def test_the_registrys_bumps_take_the_compiled_sum(monkeypatch, rng):
    real, seen = bump_sum(), []

    def counted(c, terms, out):
        seen.append(terms.shape)
        real(c, terms, out)

    monkeypatch.setattr(nonlinearities, "bump_sum", lambda: counted)
    c = [0.3, 0.2, 0.5]
    nl = nonlinearities.get_parametrised("bumps", c, lam=0.7)
    r = rng.normal(0, 1, (1000, 2))
    assert np.array_equal(bits(nl.phi(r)), bits(bumps_phi(r, 0.7, c)))
    assert np.array_equal(bits(nl.g(r)), bits(bumps_g(r, 0.7, c)))
    assert seen == [(3, 1000, 2)] * 2


def _rows_one_ulp_off(real):
    def off(x, basis):
        real(x, basis)
        basis[-1, 5] = np.nextafter(basis[-1, 5], 2.0)

    return off


def _sum_one_ulp_off(real):
    def off(c, terms, out):
        real(c, terms, out)
        out[5] = np.nextafter(out[5], np.inf)

    return off


@compiled
@pytest.mark.parametrize(
    ("name", "maker", "off"),
    [("bump_rows", bump_rows, _rows_one_ulp_off), ("bump_sum", bump_sum, _sum_one_ulp_off)],
)
def test_compiled_bumps_that_differ_from_numpys_are_not_taken(monkeypatch, name, maker, off):
    monkeypatch.setattr(_kernels(), name, off(getattr(_kernels(), name)))
    maker.cache_clear()
    try:
        assert maker() is None
    finally:
        monkeypatch.undo()
        maker.cache_clear()
    assert maker() is not None


@compiled
def test_each_probes_sums_read_where_its_columns_lie(rng):
    f2 = rng.normal(0, 1, (1000, 2))
    sigma = np.array([0.3, 0.5])
    bs = [sure_probe(f2, sigma, PROBE_SEED + i)[0] for i in range(3)]
    eps = sure_probe(f2, sigma)[1]
    stack = np.concatenate([f2 + 0.01] + [f2 + eps * b + 0.02 for b in bs], axis=1)
    bounds = chunk_bounds(1000)
    for i, b in enumerate(bs):
        alone = sure_parts(
            f2, stack[:, np.r_[0:2, 2 * (i + 1) : 2 * (i + 2)]], b, eps, sigma, bounds
        )
        parts = SureParts(f2, b, eps, sigma, bounds, probe=2 * (i + 1))
        numpy_loop = parts(np.asfortranarray(stack))  # not what the kernel reads: NumPy's
        assert np.array_equal(bits(parts(stack)), bits(alone))
        assert np.array_equal(bits(numpy_loop), bits(alone))
    out = np.empty(len(bounds) - 1)
    edges = bounds.astype(np.int64)
    with pytest.raises(ValueError, match="probe"):
        _kernels().sure_sums(f2, stack, bs[0], 2 * sigma**2 / eps, edges, 1, out, 7)


def choose_depth_as_written(plan, u, cap, probes):
    """SURE per depth as the search was written before its sums were compiled: each
    probe's columns copied out of the stack and summed by :func:`sure_parts`."""
    f2 = np.asarray(u, dtype=float).reshape(len(u), -1)
    sigma = resolve_sigma(f2, None, search=True).sigma
    bs = [sure_probe(f2, sigma, PROBE_SEED + i)[0] for i in range(probes)]
    eps = sure_probe(f2, sigma)[1]
    stack = np.concatenate([f2] + [f2 + eps * b for b in bs], axis=1)
    bounds, c = chunk_bounds(f2.shape[0]), f2.shape[1]
    first, averaged = [], []
    for k in range(cap + 1):
        each = [
            np.sum(
                sure_parts(
                    f2, stack[:, np.r_[0:c, c * (i + 1) : c * (i + 2)]], b, eps, sigma, bounds
                )
            )
            for i, b in enumerate(bs)
        ]
        first.append(float(each[0]))
        averaged.append(float(np.mean(each)))
        if k == cap:
            break
        spec, nl, tau = block_schedule(plan, cap)[k]
        if spec.scale > 1:
            stack = run_strided(stack, nl, tau, 1, spec.scale, plan.h)
        else:
            stack = run_blocks(stack, nl, tau, 1, plan.h, out=None if k == 0 else stack)
    return first, averaged


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("probes", [1, 4])
def test_the_sure_curves_are_the_search_written_out_bit_for_bit(
    noisy, channels, probes, monkeypatch
):
    u = noisy[:, 0] if channels == 1 else noisy
    plan = build_network(parse_network(LEARNED, "l.toml"), u)
    choice = choose_depth(plan, u, 24, probes=probes)
    monkeypatch.setattr(nonlinearities, "bump_rows", lambda: None)  # NumPy's bumps, as they were
    first, averaged = choose_depth_as_written(plan, u, choice.searched, probes)
    assert np.array_equal(bits(choice.criterion), bits(first))
    if probes > 1:
        assert np.array_equal(bits(choice.averaged), bits(averaged))
    best = int(np.argmin(first))
    assert choice.blocks == (0 if first[best] > first[0] * 0.99 else best)


def test_the_network_search_says_its_blocks(noisy, tmp_path):
    spec = parse_network(LEARNED, "l.toml")
    seen = []
    plan, extra = network_planner(spec)(noisy, progress=lambda *a: seen.append(a))
    alone, said = stopped_network(spec, noisy)  # told or not, the same choice
    assert plan.steps == alone.steps and {k: extra[k] for k in said} == said
    assert "sure_change_per_sample" in extra  # the stop's gain test beside (left23)
    phases = list(dict.fromkeys(p for p, _, _ in seen))
    assert phases == ["search 1/3", "search 2/3", "search 3/3"]
    for phase in phases:
        steps = [(k, end) for p, k, end in seen if p == phase]
        assert [k for k, _ in steps] == list(range(1, len(steps) + 1))  # every block, in order
        assert all(end == 24 for _, end in steps[:-1]) and steps[-1][0] == steps[-1][1]
    # the file's run tells its search's progress as the automatic modes' do
    path = tmp_path / "n.csv"
    path.write_text("\n".join(f"{a!r},{b!r}" for a, b in noisy.tolist()) + "\n")
    net = tmp_path / "l.toml"
    net.write_text(LEARNED)
    told = []
    run_file(
        network_planner(str(net)),
        str(path),
        str(tmp_path / "o.csv"),
        progress=lambda *a: told.append(a),
    )
    assert [p for p, _, _ in told if p.startswith("search")] == [p for p, _, _ in seen]
    every_block = network_planner(parse_network('[[block]]\nactivation = "tanh"\nrepeat = 3\n'))
    assert not every_block.takes_progress  # no search: nothing to tell but the blocks
