"""resdenoise.dask: the engine over dask chunks equals the in-memory run bit for bit.

The halo argument of resdenoise.stream, handed to dask.array.map_overlap:
every registry family, random chunkings (chunks shorter than the halo too),
several channels, float32, networks; the exact noise median as dask
reductions; and the same on a local cluster of two worker processes bound
to 127.0.0.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")

from resdenoise.dask import filter_array, noise_sigma  # noqa: E402
from resdenoise.errors import ParameterError  # noqa: E402
from resdenoise.filters import plan_diffuse, plan_regularise, plan_resnet, run_plan  # noqa: E402
from resdenoise.network import build_network, parse_network  # noqa: E402
from resdenoise.nonlinearities import PAPER_FAMILIES, get_nonlinearity  # noqa: E402
from resdenoise.wavelet import estimate_noise  # noqa: E402

NETWORK = """
[[block]]
diffusivity = "perona-malik"
lambda = 0.5
repeat = 3
[[block]]
activation = "tanh"
lambda = 1.0
tau = 0.2
repeat = 4
"""


def _chunks(draw, n: int) -> tuple:
    """A random chunking of n samples: sizes from 1 up."""
    cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=8)))
    bounds = [0, *cuts, n]
    return tuple(int(d) for d in np.diff(bounds))


@st.composite
def cases(draw):
    n = draw(st.integers(2, 300))
    channels = draw(st.sampled_from([None, 1, 3]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (n,) if channels is None else (n, channels)
    x = np.cumsum(rng.standard_normal(shape), axis=0) * draw(st.sampled_from([1e-3, 1.0, 50.0]))
    return x, _chunks(draw, n)


@settings(max_examples=60)
@given(
    case=cases(),
    family=st.sampled_from(sorted(PAPER_FAMILIES)),
    steps=st.integers(0, 40),
    dtype=st.sampled_from([None, "float32"]),
)
def test_every_family_any_chunking_equals_the_whole_run(case, family, steps, dtype):
    x, chunks = case
    nl = get_nonlinearity(family, "diffusivity", 0.7)
    plan = plan_resnet(nl, max(steps, 1), tau=0.2)
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    got = filter_array(arr, plan, dtype=dtype).compute()
    np.testing.assert_array_equal(got, run_plan(plan, x, dtype=dtype))


@settings(max_examples=25)
@given(case=cases())
def test_a_network_and_regularisation_any_chunking(case):
    x, chunks = case
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    network = build_network(parse_network(NETWORK))
    np.testing.assert_array_equal(filter_array(arr, network).compute(), run_plan(network, x))
    reg = plan_regularise(get_nonlinearity("charbonnier", "regulariser", 0.5), alpha=3.0)
    np.testing.assert_array_equal(filter_array(arr, reg).compute(), run_plan(reg, x))


@settings(max_examples=40)
@given(case=cases(), dtype=st.sampled_from([None, "float32"]))
def test_the_noise_estimate_is_the_exact_median(case, dtype):
    x, chunks = case
    arr = da.from_array(x, chunks=(chunks,) + x.shape[1:])
    want = estimate_noise(x if dtype is None else x.astype(dtype))
    np.testing.assert_array_equal(noise_sigma(arr, dtype=dtype), want)


def test_chunks_across_channels_are_joined_and_the_chunking_kept():
    x = np.random.default_rng(1).standard_normal((500, 4))
    arr = da.from_array(x, chunks=(64, 2))
    plan = plan_diffuse(get_nonlinearity("perona-malik", "diffusivity", 0.3), steps=100)
    out = filter_array(arr, plan)
    assert out.shape == x.shape and out.chunks[0] == arr.chunks[0]
    np.testing.assert_array_equal(out.compute(), run_plan(plan, x))


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (np.zeros(10), "takes a dask array, not ndarray"),
        (da.zeros((4, 2, 2)), "this array has shape (4, 2, 2)"),
        (da.zeros(1), "at least 2 samples"),
    ],
)
def test_what_is_not_a_signal_is_refused(value, words):
    plan = plan_resnet(get_nonlinearity("tanh", "activation", 1.0), 2)
    with pytest.raises(ParameterError) as info:
        filter_array(value, plan)
    assert words in str(info.value)


def test_on_a_local_cluster_of_two_processes():
    distributed = pytest.importorskip("distributed")
    x = np.cumsum(np.random.default_rng(2).standard_normal((20_000, 2)), axis=0)
    plan = plan_diffuse(get_nonlinearity("charbonnier", "diffusivity", 0.5), steps=25)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        arr = da.from_array(x, chunks=(3000, 2))
        got = client.compute(filter_array(arr, plan)).result()
        sigma = noise_sigma(arr)
        workers = client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    np.testing.assert_array_equal(got, run_plan(plan, x))
    np.testing.assert_array_equal(sigma, estimate_noise(x))
