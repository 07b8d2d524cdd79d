"""audit11d: resdenoise as a Python library (typing, pickling, copies, error state,
warnings' locations, docstrings)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import resdenoise


def _tiny(n: int, amplitude: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (np.repeat([0.0, 1.0], n // 2) + 0.1 * rng.standard_normal(n)) * amplitude


@pytest.mark.parametrize(
    ("n", "amplitude", "call"),
    [
        (10, 1e-300, lambda x: resdenoise.diffuse(x, "perona-malik", time=5)),  # probe_flux
        (10, 1e-300, lambda x: resdenoise.resnet(x, "tanh", blocks=3)),
        (10, 1e-310, lambda x: resdenoise.shrink(x, "auto", iterations="auto")),  # shifted
        (3000, 1e-310, lambda x: resdenoise.diffuse(x, "charbonnier", time="auto")),  # windows
        (3000, 1e-300, lambda x: resdenoise.regularise(x, "huber", alpha=1.0)),
    ],
)
def test_a_callers_underflow_error_state_is_not_the_librarys_business(n, amplitude, call):
    """np.seterr(under="raise") of the caller: the library's intended underflow (a probe
    of ever smaller differences, samples times 2**-k, tiny details) raises nothing, the
    numbers are those of the default error state, the caller's state is left as it was."""
    x = _tiny(n, amplitude)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = call(x)
        with np.errstate(all="raise"):
            got = call(x)
            assert np.geterr() == {k: "raise" for k in ("divide", "over", "under", "invalid")}
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: resdenoise.diffuse(x, "perona-malik", lam=0.5, steps=2),
        lambda x: resdenoise.diffuse(x, "auto", time="auto"),
        lambda x: resdenoise.shrink(x, "soft", iterations="auto"),
        lambda x: resdenoise.regularise(x, "huber", alpha=1.0),
        lambda x: resdenoise.resnet(x, "tanh", blocks=3),
    ],
)
@pytest.mark.parametrize("signal", ["noisy", "constant", "stereo"])
def test_a_float64_input_is_read_where_it_is(monkeypatch, call, signal):
    """A float64 input is not copied whole before the run (a memmap costs no RAM of its
    own size): the engine gets the caller's memory; it writes none of it (read-only
    here), and the output is a fresh array all the same."""
    from resdenoise import api

    x = {"noisy": _tiny(400, 1.0), "constant": np.ones(400)}.get(signal)
    x = np.stack([_tiny(400, 1.0), _tiny(400, -2.0)], axis=1) if x is None else x
    before = x.copy()
    x.flags.writeable = False
    given = []
    run_plan = api.run_plan
    monkeypatch.setattr(api, "run_plan", lambda plan, u: given.append(u) or run_plan(plan, u))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = call(x)
        expected = call(before)  # a writeable array of its own: the same numbers
    assert len(given) == 2 and np.shares_memory(given[0], x)  # x itself, not a copy
    assert not np.shares_memory(out, x) and out.dtype == np.float64
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, expected)


def test_the_output_is_never_the_callers_array(monkeypatch):
    """Now that the input is not copied, a plan whose run gives its input back (nothing
    to do) still hands the caller a fresh array."""
    from resdenoise import api

    x = _tiny(64, 1.0)
    monkeypatch.setattr(api, "run_plan", lambda plan, u: u)
    out = resdenoise.diffuse(x, "perona-malik", lam=0.5, steps=1)
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(out, x)


def test_every_warning_of_the_api_names_the_callers_line():
    """The sign-stable bound's warning as the automatic search's: at the caller's line,
    so that a filter by module matches and "once per location" counts the caller's."""
    x = np.repeat([0.0, 1.0], 50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resdenoise.diffuse(x, "linear", lam=1.0, steps=3, tau=0.4)
        resdenoise.diffuse(np.ones(500), "auto", time="auto")
    assert [str(w.message)[:8] for w in caught] == ["tau = 0.", "nothing "]
    assert {w.filename for w in caught} == {__file__}


def _network_file(tmp_path, stop: bool) -> str:
    path = tmp_path / ("net_stop.toml" if stop else "net.toml")
    head = 'stop = "sure"\n' if stop else ""
    path.write_text(head + '[[block]]\ndiffusivity = "perona-malik"\nlambda = 0.5\nrepeat = 3\n')
    return str(path)


def test_every_plan_maker_pickles_and_says_what_it_is(tmp_path):
    """planner(..., "auto"), automatic_planner() and network_planner() are objects that
    pickle (a spawn or forkserver process pool sends them), of the type their hints say,
    and make the same plan after a round trip."""
    import pickle

    from resdenoise.plans import (
        AutomaticPlanner,
        NetworkPlanner,
        automatic_planner,
        network_planner,
        planner,
    )

    u = _tiny(256, 1.0)
    makers = [
        (planner("diffuse", "auto", time="auto"), AutomaticPlanner),
        (automatic_planner(), AutomaticPlanner),
        (automatic_planner(sigma=0.1, command="shrink"), AutomaticPlanner),
        (network_planner(_network_file(tmp_path, False), lam=0.5), NetworkPlanner),
        (network_planner(_network_file(tmp_path, True)), NetworkPlanner),
    ]
    for make_plan, kind in makers:
        assert type(make_plan) is kind
        again = pickle.loads(pickle.dumps(make_plan))
        for m in (make_plan, again):
            for attribute in ("takes_labels", "takes_progress", "reads"):
                assert getattr(m, attribute, None) == getattr(make_plan, attribute, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plan, extra = make_plan(u)
            plan2, extra2 = again(u)
        np.testing.assert_array_equal(plan.run(u), plan2.run(u))
    assert makers[3][0].reads == {makers[3][0].spec.source: "network"}
    assert not makers[3][0].takes_progress and makers[4][0].takes_progress


ROOT = Path(__file__).resolve().parent.parent


def _mypy(tmp_path, source: str) -> list[str]:
    """``mypy --strict``'s error lines for a user's script importing resdenoise from
    this tree (the library's own modules analysed, not reported on)."""
    pytest.importorskip("mypy")
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(source))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent"]
        + ["--no-incremental", "--no-error-summary", "--hide-error-context", "user.py"],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    assert done.returncode in (0, 1) and all(line.startswith("user.py:") for line in lines)
    return [line.split(": ", 1)[1] for line in lines]


def test_run_blocks_hint_takes_a_nonlinearity(tmp_path):
    """run_blocks takes a Nonlinearity (its docstring, the engine): its hint says so."""
    errors = _mypy(
        tmp_path,
        """
        import numpy as np
        from resdenoise.engine import run_blocks
        from resdenoise.nonlinearities import get_nonlinearity

        nl = get_nonlinearity("perona-malik", "diffusivity", lam=1.0)
        u = np.array([0.0, 0.0, 1.0, 1.0])
        a: np.ndarray = run_blocks(u, nl, tau=0.25, n_blocks=1)
        b: np.ndarray = run_blocks(u, nl.phi, tau=0.25, n_blocks=1)
        c: np.ndarray = run_blocks(u, np.tanh, tau=0.25, n_blocks=1)
        d: np.ndarray = run_blocks(u, "perona-malik", tau=0.25, n_blocks=1)
        """,
    )
    assert len(errors) == 1 and 'Argument 2 to "run_blocks"' in errors[0]  # d only
    assert '"str"' in errors[0]


def test_the_readmes_run_file_example_type_checks(tmp_path):
    """run_file's report is a dict when measured (the default): the README's example
    indexes it with no cast; measure=False may give None, and says so."""
    errors = _mypy(
        tmp_path,
        """
        import pathlib, tempfile
        from resdenoise.pipeline import planner, run_file
        d = pathlib.Path(tempfile.mkdtemp())
        make_plan = planner("diffuse", "linear", lam=1.0, steps=1)
        report = run_file(make_plan, str(d / "in.csv"), str(d / "out.csv"))
        print(report["carried_columns"], report["guarantees_held"])
        measured = run_file(make_plan, "in.csv", "out.csv", measure=True)
        print(measured["steps"])
        unmeasured = run_file(make_plan, "in.csv", "out.csv", measure=False)
        print(unmeasured["steps"])
        """,
    )
    assert len(errors) == 1 and "dict[Any, Any] | None" in errors[0]  # unmeasured only


def test_every_form_of_every_family_gives_an_ndarray():
    """phi/g/psi/shrinkage give an ndarray (0-d for a scalar) for every registry family
    and a custom function, as their hints say (some gave numpy.float64 before)."""
    from resdenoise.nonlinearities import from_function, get_nonlinearity

    nls = [get_nonlinearity(key, "activation", lam=2.0) for key in resdenoise.NONLINEARITIES]
    nls.append(from_function(np.tanh, "activation", lam=2.0))
    for nl in nls:
        for form in ("phi", "g", "psi", "shrinkage"):
            method = getattr(nl, form)
            scalar, row = method(5.0), method(np.array([0.5, 5.0]))
            assert type(scalar) is np.ndarray and scalar.shape == (), (nl.name, form)
            assert type(row) is np.ndarray and row.shape == (2,), (nl.name, form)
            assert np.isclose(scalar, row[1], rtol=1e-6), (nl.name, form)  # the same value


def test_help_of_the_public_lookups_says_what_they_return_and_raise():
    """help() of get_nonlinearity, from_function, available_nonlinearities, check_tau,
    Nonlinearity.label says what they return (and raise: ParameterError, as they do)."""
    from resdenoise.errors import ParameterError

    documented = {
        resdenoise.get_nonlinearity: "Nonlinearity",
        resdenoise.from_function: "Nonlinearity",
        resdenoise.available_nonlinearities: "list of str",
        resdenoise.check_tau: "StabilityVerdict",
    }
    for function, returned in documented.items():
        doc = function.__doc__
        assert f"Returns\n    -------\n    {returned}\n" in doc, function.__name__
        if function is not resdenoise.available_nonlinearities:
            assert "Raises\n    ------\n    ParameterError\n" in doc, function.__name__
    assert "custom function's ``name``" in resdenoise.Nonlinearity.label.__doc__
    tanh = resdenoise.get_nonlinearity("tanh")
    for call in (  # what the Raises sections say
        lambda: resdenoise.get_nonlinearity("charbonier"),
        lambda: resdenoise.get_nonlinearity("huber", "diffusivity"),
        lambda: resdenoise.get_nonlinearity("tanh", "bogus"),
        lambda: resdenoise.get_nonlinearity("tanh", lam=-1),
        lambda: resdenoise.from_function(3),
        lambda: resdenoise.from_function(np.tanh, "bogus"),
        lambda: resdenoise.from_function(np.tanh, lam=0),
        lambda: resdenoise.check_tau(tanh, -1.0),
        lambda: resdenoise.check_tau(3, 0.1),
    ):
        with pytest.raises(ParameterError):
            call()


def test_a_type_checker_sees_every_public_name_with_its_real_type(tmp_path):
    """resdenoise imports its public functions lazily (a module __getattr__); a type
    checker sees them through TYPE_CHECKING imports, not as Any: resdenoise.diffuse(...)
    is checked against api.py's signature."""
    names = [n for n in resdenoise.__all__ if n != "__version__"]
    lines = [f"reveal_type(resdenoise.{name})" for name in names]
    errors = _mypy(
        tmp_path,
        "import numpy as np\nimport resdenoise\nfrom resdenoise import diffuse\n"
        + "\n".join(lines)
        + '\nreveal_type(diffuse)\nbad = diffuse(np.zeros(4), lam="bogus", nonsense=3)\n',
    )
    revealed = [e for e in errors if "Revealed type is" in e]
    assert len(revealed) == len(names) + 1
    assert not [e for e in revealed if 'Revealed type is "Any"' in e]
    assert any('Unexpected keyword argument "nonsense" for "diffuse"' in e for e in errors)
    assert any('Argument "lam" to "diffuse"' in e for e in errors)
