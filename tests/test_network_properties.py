"""Property-based proof of a network file's stability (the paper, section 3; audit16b B2).

A network chains groups of blocks that may all differ: activation (any registry entry,
named in any form, or a formula), lambda, tau at or below the sign-stable bound, repeat
and the stride (``scale``) of the differences.  The network is stable when every group
is (Theorem 2 by induction over the blocks), so whatever the file, with every tau at
most ``h^2/(4 g_max)`` of its group:

* the verdict says L-infinity and sign stable, with the smallest bounds of the groups;
* max-min principle and mean, for the whole signal (a strided group is the ordinary
  block on each subsequence ``u[r::s]``: its range and sum are the signal's);
* total variation and sign changes do not increase: for the whole signal when every
  group has scale 1, else per subsequence of each group's stride, measured on what
  that group got (the groups run here one after another, which must be the run);
* the library's own checks (``measure_channels``/``guarantees_failed``, or the
  per-group ``group_checks``) agree.

Every property is asserted directly with the counters of ``test_properties`` and a
rounding allowance written here.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_properties import allowance, per_channel, sign_changes, total_variation

from resdenoise import filters, stability
from resdenoise.network import build_network, parse_network
from resdenoise.nonlinearities import FORMS, NONLINEARITIES

#: formulas whose g(r) = Phi(r)/r is at most 1, reached at r = 0 (softsign, tanh)
FORMULAS = ("r/(1 + abs(r)/lam)", "lam*tanh(r/lam)")
#: examples: a network runs up to 100 blocks on up to 200 samples (milliseconds each)
EXAMPLES = settings.default.max_examples


@st.composite
def networks(draw):
    """(TOML text, signal, amplitude, [(g_max, scale, repeat, tau or None)] per group)."""
    n = draw(st.integers(2, 200))
    channels = draw(st.sampled_from([1, 1, 2]))
    amplitude = 10.0 ** draw(st.floats(-3.0, 3.0))
    shape = (n,) if channels == 1 else (n, channels)
    unit = draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, allow_subnormal=False)))
    if draw(st.booleans()):
        unit = np.round(unit * 3.0) / 3.0  # steps, exact repeats and zeros
    h = draw(st.sampled_from([1.0, 1.0, 0.5, 1.7]))
    lines = [f"h = {h!r}"]
    groups = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.integers(0, 4)) == 0:
            key, g_max = None, 1.0
            lines += ["[[block]]", f'activation-expr = "{draw(st.sampled_from(FORMULAS))}"']
        else:
            key = draw(st.sampled_from(sorted(NONLINEARITIES)))
            g_max = NONLINEARITIES[key].g_max
            lines += ["[[block]]", f'{draw(st.sampled_from(FORMS))} = "{key}"']
        lam = amplitude * 10.0 ** draw(st.floats(-2.0, 1.0))
        sign = stability.tau_bounds(g_max, h)[1]  # h^2 / (4 g_max)
        choice = draw(st.sampled_from(["default", "sign", "below"]))
        tau = {"default": None, "sign": sign, "below": sign * draw(st.floats(1e-3, 1.0))}[choice]
        repeat = draw(st.integers(1, 20))
        scale = draw(st.sampled_from([1, 1, 1, 2, 3, 4, 5, 8]))
        lines += [f"lambda = {lam!r}", f"repeat = {repeat}", f"scale = {scale}"]
        if tau is not None:
            lines.append(f"tau = {tau!r}")
        groups.append((key, g_max, scale, repeat, tau))
    return "\n".join(lines) + "\n", amplitude * unit, h, groups


def _one_group(text: str, index: int) -> str:
    """The network file of group ``index`` alone (the top line, h, and its table)."""
    head, *tables = text.split("[[block]]\n")
    return head + "[[block]]\n" + tables[index]


@settings(max_examples=EXAMPLES, deadline=None)
@given(networks())
def test_every_network_of_sign_stable_groups_keeps_the_guarantees(drawn):
    text, f, h, groups = drawn
    note(text)
    plan = build_network(parse_network(text, "net.toml"))
    assert plan.h == h
    # the verdict: every group at or below its sign bound, so the network is stable
    bounds = [stability.tau_bounds(g_max, h) for _, g_max, _, _, _ in groups]
    verdict = plan.verdict()
    assert verdict.linf_stable and verdict.sign_stable, verdict.reason
    assert verdict.tau_sign_bound <= min(b[1] for b in bounds) * (1 + 1e-12)
    assert verdict.whole_signal == all(scale == 1 for _, _, scale, _, _ in groups)
    for (_, _, tau), (_, _, _, _, given_tau), (_, sign) in zip(
        plan.groups, groups, bounds, strict=True
    ):
        # the default step is the sign bound (a formula's g_max is sampled: 1e-9 of slack)
        assert tau == given_tau if given_tau is not None else abs(tau - sign) <= 1e-9 * sign
    m = sum(repeat for _, _, _, repeat, _ in groups)
    assert plan.steps == m

    u = filters.run_plan(plan, f)
    assert u.shape == f.shape and np.all(np.isfinite(u))
    f2, u2 = per_channel(f), per_channel(u)
    eps = allowance(f, m)
    # max-min principle and mean, whole signal, whatever the strides
    assert np.all(u2.min(axis=0) >= f2.min(axis=0) - eps)
    assert np.all(u2.max(axis=0) <= f2.max(axis=0) + eps)
    amp = np.max(np.abs(f2), axis=0)
    assert np.all(np.abs(u2.mean(axis=0) - f2.mean(axis=0)) <= 1e-12 * amp)

    # the groups one after another, each checked on what it got, per subsequence
    v = f
    for index, (_, _, scale, repeat, _) in enumerate(groups):
        before = per_channel(v)
        v = filters.run_plan(build_network(parse_network(_one_group(text, index), "g.toml")), v)
        after = per_channel(v)
        e = allowance(before, repeat)
        for r in range(min(scale, before.shape[0])):
            a, b = before[r::scale], after[r::scale]
            assert np.all(b.min(axis=0) >= a.min(axis=0) - e)
            assert np.all(b.max(axis=0) <= a.max(axis=0) + e)
            assert np.all(total_variation(b) <= total_variation(a) + a.shape[0] * e)
            for c in range(a.shape[1]):
                assert sign_changes(b[:, c], e) <= sign_changes(a[:, c], 0.0), (index, r, c)
    np.testing.assert_array_equal(v, u)  # the network is its groups one after another

    if verdict.whole_signal:
        assert np.all(total_variation(u2) <= total_variation(f2) + f2.shape[0] * eps)
        for c in range(f2.shape[1]):
            assert sign_changes(u2[:, c], eps) <= sign_changes(f2[:, c], 0.0)
        checks, _ = stability.measure_channels(f, u, m)
        assert stability.guarantees_failed(checks, verdict) == []
    else:
        entries = plan.scale_checks(f)
        assert [e["stride"] for e in entries] == [g[2] for g in groups]
        assert all(e["failed"] == [] for e in entries), entries
