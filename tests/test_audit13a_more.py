"""audit13a (resdenoise as a Python library), the findings F14, F7, F10, F8 and F11: python
-OO, a user function that writes into its argument, lam given with a bound nonlinearity,
resdenoise.dask's messages, the library's reading of $RESDENOISE_THREADS / $RESDENOISE_ENGINE."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import resdenoise as rd

# --------------------------------------------------------------------------
# F14. Under python -OO (docstrings stripped) resdenoise.api did not import: it filled the
# shared docstring sections of None.
# --------------------------------------------------------------------------


def test_every_module_imports_and_runs_without_docstrings():
    code = (
        "import importlib, pkgutil, resdenoise as rd\n"
        "for m in pkgutil.walk_packages(rd.__path__, 'resdenoise.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(rd.diffuse([0.0, 0.0, 1.0, 1.0], 'linear', lam=1.0, steps=1).tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.0, 0.25, 0.75, 1.0]"


# --------------------------------------------------------------------------
# F7. A user function that writes into its argument (np.tanh(r, out=r)) failed inside the
# stability sampling with NumPy's "output array is read-only" (the shared grid), and its
# derived forms (g = Phi(r)/r) would read the overwritten r.
# --------------------------------------------------------------------------


def _in_place(func):
    def writes_into_r(r):
        r[...] = func(r)
        return r

    return writes_into_r


def _signal(n: int = 200) -> np.ndarray:
    return np.cumsum(np.random.default_rng(0).standard_normal(n))


@pytest.mark.parametrize(
    ("call", "func"),
    [
        (lambda x, f: rd.resnet(x, f, blocks=5, tau=0.25), np.tanh),
        (lambda x, f: rd.resnet(x, f, blocks=5), np.tanh),
        (lambda x, f: rd.diffuse(x, f, steps=5), lambda r: 1.0 / (1.0 + r * r)),
        (lambda x, f: rd.regularise(x, f, alpha=1.0), lambda r: np.sqrt(1.0 + r * r) - 1.0),
        (lambda x, f: rd.shrink(x, f, iterations=3), lambda s: np.where(abs(s) > 1, s, 0.0)),
    ],
)
def test_a_function_that_writes_into_its_argument_runs_as_one_that_does_not(call, func):
    x = _signal()
    np.testing.assert_array_equal(call(x, _in_place(func)), call(x, func))


def test_the_forms_of_a_function_that_writes_into_its_argument():
    r = np.linspace(-3.0, 3.0, 13)
    for form, func in (
        ("activation", np.tanh),
        ("diffusivity", lambda r: 1.0 / (1.0 + r * r)),
        ("regulariser", lambda r: np.sqrt(1.0 + r * r) - 1.0),
        ("shrinkage", lambda s: s / (1.0 + abs(s))),
    ):
        mine, plain = rd.from_function(_in_place(func), form), rd.from_function(func, form)
        given = r.copy()
        for name in ("phi", "g", "psi", "shrinkage"):
            np.testing.assert_array_equal(getattr(mine, name)(given), getattr(plain, name)(r))
        np.testing.assert_array_equal(given, r)  # the caller's array untouched
        assert rd.check_tau(mine, 0.25) == rd.check_tau(plain, 0.25)


def test_the_step_loop_hands_an_activation_its_own_differences_uncopied():
    """The copy is for the library's own arrays; the step loop's scratch differences are
    passed as they are (a copy a block cost the loop 3x its CPU time with np.tanh)."""
    seen = []

    def phi(r):
        seen.append(r)
        return np.tanh(r)

    nl = rd.from_function(phi)
    d = np.linspace(-1.0, 1.0, 5)
    nl.scratch_phi(d)
    assert seen[-1] is d
    nl.phi(d)
    assert seen[-1] is not d


# --------------------------------------------------------------------------
# F10. lam given with a Nonlinearity bound to another lam was dropped without a word (the
# run at the Nonlinearity's lam); a registry Nonlinearity could not be hashed.
# --------------------------------------------------------------------------

SHORT = np.array([0.0, 4.0, -2.0, 3.0, 1.0, 0.5])


@pytest.mark.parametrize(
    ("command", "nl", "settings", "given"),
    [
        ("diffuse", ("perona-malik", "diffusivity", 2.0), {"steps": 3}, {"lam": 0.5}),
        ("diffuse", ("perona-malik", "diffusivity", 2.0), {"steps": 3}, {"lam": "auto"}),
        ("resnet", ("tanh", "activation", 1.0), {"blocks": 3}, {"lam": 2.0}),
        ("regularise", ("huber", "regulariser", 1.0), {"alpha": 1.0}, {"lam": 3.0}),
        ("shrink", ("soft", "shrinkage", 1.0), {}, {"theta": 2.0}),
    ],
)
def test_lam_given_with_a_nonlinearity_bound_to_another_is_refused(command, nl, settings, given):
    from resdenoise.filters import run_plan
    from resdenoise.plans import planner

    bound = rd.get_nonlinearity(*nl)
    with pytest.raises(rd.ParameterError, match=r"bound to (lam|theta) = ") as caught:
        planner(command, bound, **settings, **given)
    assert "\n" not in str(caught.value)
    said = str(caught.value)
    with pytest.raises(rd.ParameterError) as caught:  # the one-call function: the same check
        getattr(rd, command)(SHORT, bound, **settings, **given)
    assert str(caught.value) == said
    key = next(iter(given))
    same = {key: bound.lam if key == "lam" else bound.theta}
    want = getattr(rd, command)(SHORT, nl[0], **settings, **same)
    np.testing.assert_array_equal(getattr(rd, command)(SHORT, bound, **settings), want)
    plan, _ = planner(command, bound, **settings, **same)(SHORT)  # the same value: taken
    np.testing.assert_array_equal(run_plan(plan, SHORT), want)
    # the one-call function takes it too (it refused any lam with a Nonlinearity)
    np.testing.assert_array_equal(getattr(rd, command)(SHORT, bound, **settings, **same), want)


def _pm(r):
    return 1.0 / (1.0 + r * r)


def _soft(s):
    return np.sign(s) * np.maximum(np.abs(s) - 1.0, 0.0)


@pytest.mark.parametrize(
    ("command", "form", "func", "settings", "given"),
    [
        ("diffuse", "diffusivity", _pm, {"steps": 3}, {"lam": 0.5}),
        ("diffuse", "diffusivity", _pm, {"steps": 3}, {"lam": "auto"}),
        ("resnet", "activation", np.tanh, {"blocks": 3}, {"lam": 3.0}),
        ("shrink", "shrinkage", _soft, {}, {"theta": 2.0}),
        ("shrink", "shrinkage", _soft, {}, {"theta": "auto"}),
    ],
)
def test_lam_given_with_a_custom_nonlinearity_bound_to_another_is_refused(
    command, form, func, settings, given
):
    """A Nonlinearity of from_function: the planner dropped another lam without a word
    (the run at the bound lam); now the one check refuses it, for the planner and the
    one-call functions alike, and takes the bound lam again."""
    from resdenoise.filters import run_plan
    from resdenoise.plans import planner

    bound = rd.from_function(func, form, name="mine", lam=2.0)
    with pytest.raises(rd.ParameterError, match=r"^(lam|theta)=\S+ given with the ") as caught:
        planner(command, bound, **settings, **given)
    said = str(caught.value)
    assert "'mine', bound to" in said and "\n" not in said
    with pytest.raises(rd.ParameterError) as caught:
        getattr(rd, command)(SHORT, bound, **settings, **given)
    assert str(caught.value) == said
    key = next(iter(given))
    same = {key: bound.lam if key == "lam" else bound.theta}
    want = run_plan(planner(command, bound, **settings)(SHORT)[0], SHORT)
    np.testing.assert_array_equal(
        run_plan(planner(command, bound, **settings, **same)(SHORT)[0], SHORT), want
    )
    np.testing.assert_array_equal(getattr(rd, command)(SHORT, bound, **settings, **same), want)
    # a plain function is bound to the lam given (its features' size); "auto" is refused
    # (audit14b B12: a function has no family lambda to choose)
    np.testing.assert_array_equal(
        getattr(rd, command)(SHORT, func, **settings, **same),
        getattr(rd, command)(SHORT, bound, **settings),
    )
    with pytest.raises(rd.ParameterError, match=rf"^{key}='auto' chooses a registry family"):
        getattr(rd, command)(SHORT, func, **settings, **{key: "auto"})


def test_a_registry_nonlinearity_hashes_as_it_compares():
    a, b = rd.get_nonlinearity("tanh", lam=2.0), rd.get_nonlinearity("tanh", lam=2.0)
    assert a == b and hash(a) == hash(b)
    assert len({a, b, rd.get_nonlinearity("tanh", lam=1.0), rd.get_nonlinearity("isru")}) == 3


# --------------------------------------------------------------------------
# F8. resdenoise.dask: measure_array without dask raised a raw ModuleNotFoundError; the
# messages named filter_array for noise_sigma and measure_array; a complex dask array was
# run with only NumPy's ComplexWarning; what rd.diffuse refuses as SignalError (1 sample,
# 3-D) was a ParameterError here.
# --------------------------------------------------------------------------


def test_without_dask_each_dask_function_says_what_to_install():
    code = (
        "import sys\n"
        "for m in ('dask', 'dask.array', 'distributed', 'zarr'): sys.modules[m] = None\n"
        "import numpy as np, resdenoise.dask as rdd\n"
        "from resdenoise.errors import ExtraMissing\n"
        "from resdenoise.filters import plan_diffuse\n"
        "from resdenoise.nonlinearities import get_nonlinearity\n"
        "plan = plan_diffuse(get_nonlinearity('linear', 'diffusivity', 1.0), steps=1)\n"
        "x = np.arange(5.0)\n"
        "for f, args in ((rdd.filter_array, (x, plan)), (rdd.noise_sigma, (x,)),\n"
        "                (rdd.measure_array, (x, x, plan))):\n"
        "    try:\n"
        "        f(*args)\n"
        "    except ExtraMissing as e:\n"
        "        print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for name, line in zip(("filter_array", "noise_sigma", "measure_array"), lines, strict=True):
        assert line.startswith(f"resdenoise.dask.{name} needs dask: pip install '.[dask]'"), line


def _plan():
    from resdenoise.filters import plan_diffuse

    return plan_diffuse(rd.get_nonlinearity("linear", "diffusivity", 1.0), steps=1)


@pytest.mark.parametrize("name", ["filter_array", "noise_sigma", "measure_array"])
def test_each_dask_function_names_itself_when_given_no_dask_array(name):
    pytest.importorskip("dask.array")
    import resdenoise.dask as rdd

    x = np.arange(5.0)
    args = {"filter_array": (x, _plan()), "noise_sigma": (x,), "measure_array": (x, x, _plan())}
    with pytest.raises(rd.ParameterError, match=f"^{name} takes a dask array, not ndarray$"):
        getattr(rdd, name)(*args[name])


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (np.array([0, 1 + 1j, 2]), "the signal is complex (complex128)"),
        (np.zeros(1), "a signal needs at least 2 samples"),
        (np.zeros((4, 2, 2)), "must have shape (n,) or (n, channels)"),
        (np.zeros((4, 0)), "has no channels"),
        (np.array(["a", "b", "c"]), "the signal must be numbers"),
    ],
)
def test_a_dask_array_that_is_no_signal_is_refused_as_rd_diffuse_refuses_it(values, words):
    da = pytest.importorskip("dask.array")
    import resdenoise.dask as rdd

    with pytest.raises(rd.SignalError) as in_memory:
        rd.diffuse(values, "linear", lam=1.0, steps=1)
    for call in (lambda a: rdd.filter_array(a, _plan()), rdd.noise_sigma):
        with pytest.raises(rd.SignalError) as lazy:
            call(da.from_array(values))
        assert words in str(lazy.value) and "\n" not in str(lazy.value)
    assert words in str(in_memory.value)


# --------------------------------------------------------------------------
# F11. The library ignored a $RESDENOISE_THREADS or $RESDENOISE_ENGINE that the program
# refuses (exit 2): RESDENOISE_ENGINE=numpi ran the compiled loop without a word.
# run_network_stopped turned float32 into float64.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("RESDENOISE_THREADS", "abc", "RESDENOISE_THREADS='abc': give a whole number"),
        ("RESDENOISE_THREADS", "0", "RESDENOISE_THREADS='0': give a whole number"),
        ("RESDENOISE_THREADS", "-1", "from 1 to 256"),
        ("RESDENOISE_THREADS", "1000", "from 1 to 256"),
        ("RESDENOISE_ENGINE", "bogus", "RESDENOISE_ENGINE='bogus': give auto or numpy"),
        ("RESDENOISE_ENGINE", "NUMPY", "give auto or numpy"),
    ],
)
def test_the_library_refuses_the_environment_the_program_refuses(monkeypatch, name, value, words):
    from resdenoise.engine import run_blocks

    monkeypatch.setenv(name, value)
    x = _signal(3000)
    for call in (
        lambda: rd.diffuse(x, "perona-malik", lam=1.0, steps=3),
        lambda: rd.resnet(x, np.tanh, blocks=3),
        lambda: run_blocks(x, rd.get_nonlinearity("charbonnier"), 0.25, 3),
    ):
        with pytest.raises(rd.ParameterError, match=r"\bor unset it$") as caught:
            call()
        assert words in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("RESDENOISE_THREADS", "2"), ("RESDENOISE_THREADS", ""), ("RESDENOISE_ENGINE", "numpy")],
)
def test_the_environment_the_program_takes_the_library_takes(monkeypatch, name, value):
    x = _signal(3000)
    want = rd.diffuse(x, "charbonnier", lam=1.0, steps=3)
    monkeypatch.setenv(name, value)
    np.testing.assert_array_equal(rd.diffuse(x, "charbonnier", lam=1.0, steps=3), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_run_network_stopped_keeps_the_working_precision_of_resnet_network(tmp_path, dtype):
    import warnings

    from resdenoise.filters import run_plan
    from resdenoise.learn import network_text, run_network_stopped
    from resdenoise.learn_model import Group
    from resdenoise.plans import network_planner

    rng = np.random.default_rng(5)
    u = (np.repeat(rng.standard_normal(10), 100) + 0.3 * rng.standard_normal(1000)).astype(dtype)
    groups = [Group((0.5, 0.3, 0.2), 1.0, 0.2, 4), Group((0.2, 0.2, 0.6), 0.7, 0.25, 3, scale=2)]
    path = tmp_path / "net.toml"
    path.write_text(network_text(groups, 1.0, stop="sure", max_blocks=28))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, blocks = run_network_stopped(u, groups)
        plan, extra = network_planner(str(path))(u)
    want = run_plan(plan, u)
    assert blocks == extra["blocks_chosen"]
    assert out.dtype == want.dtype == dtype
    np.testing.assert_array_equal(out, want)
