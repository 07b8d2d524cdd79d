"""Messages and exit codes an audit found wrong: each error one line naming the file
and what is wrong, the exit code the README's table gives it (items a to j)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import resdenoise
from resdenoise import autoparams
from resdenoise.cli import cli
from resdenoise.cli.render import summary_line
from resdenoise.cli.render_learning import render_learning
from resdenoise.errors import ParameterError, SignalError
from resdenoise.network import NetworkError, parse_network

EXE = str(Path(sys.executable).parent / "resdenoise")
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _csv(path, values):
    path.write_text("x\n" + "".join(f"{float(v)!r}\n" for v in values))
    return path


def _error(result, code: int) -> str:
    """The one ``Error:`` line of a failed run with exit ``code``."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# a. data-dependent errors name the file and exit 1 (the samples' fault)


def test_automatic_lambda_beyond_float64_names_the_file(runner, tmp_path, rng):
    src = _csv(tmp_path / "huge.csv", np.clip(rng.standard_normal(50), -1, 1) * 1.7e308)
    line = _error(runner.invoke(cli, ["diffuse", str(src), "--steps", "3"]), 1)
    assert line.startswith(f"Error: {src}: the automatic lambda is inf for samples whose range")
    assert line.endswith("scale the signal or give --lambda")


def test_automatic_lambda_beyond_float32_names_the_file(runner, tmp_path, rng):
    src = _csv(tmp_path / "f32.csv", rng.standard_normal(50) * 1e38)
    args = ["diffuse", str(src), "--steps", "3", "--dtype", "float32", "-o", str(tmp_path / "o")]
    line = _error(runner.invoke(cli, args), 1)
    assert re.match(
        rf"Error: {re.escape(str(src))}: the automatic lambda is \S+ \(inf in float32\)", line
    )
    assert not (tmp_path / "o").exists()
    given = _error(runner.invoke(cli, [*args, "--lambda", "5e38"]), 2)  # the option's fault
    assert given.startswith(f"Error: {src}: lambda 5e+38 is inf in float32")


# b. learn takes a 2-sample file as every command does


def test_learn_takes_two_samples(runner, tmp_path):
    src = _csv(tmp_path / "two.csv", [1.0, 2.0])
    net = tmp_path / "n.toml"
    args = ["learn", str(src), "-o", str(net), "--iterations", "2", "--blocks", "2", "-q"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    assert net.read_text().count("[[block]]") >= 1


# c. network files: one prefix, the key's line, a scalar block is not "no blocks"


def test_network_coefficients_of_a_registry_name_said_once_at_their_line():
    text = '[[block]]\nactivation = "perona-malik"\ncoefficients = "x"\nlambda = 1\n'
    with pytest.raises(NetworkError) as info:
        parse_network(text, "nt.toml")
    message = str(info.value)
    assert message.startswith("nt.toml: block 1 (line 3): coefficients are for")
    assert message.count("nt.toml") == 1


def test_network_errors_give_the_keys_line():
    text = "# net\n[[block]]\nactivation = 'tanh'\n\n[[block]]\nactivation = 'tanh'\n  repeat = 0\n"
    with pytest.raises(NetworkError, match=r"^n\.toml: block 2 \(line 7\): repeat must be"):
        parse_network(text, "n.toml")


def test_network_block_that_is_not_a_table():
    with pytest.raises(NetworkError) as info:
        parse_network("block = 3\n", "n.toml")
    assert str(info.value).startswith("n.toml: block (line 1): must be [[block]] tables, not 3")
    assert "no blocks" not in str(info.value)


# d. messages that name the problem there is


def test_in_place_report_on_the_input_is_not_called_the_same_as_o(runner, tmp_path, rng):
    src = _csv(tmp_path / "b.csv", rng.standard_normal(40))
    args = ["diffuse", str(src), "--steps", "1", "--in-place", "--report", str(src)]
    line = _error(runner.invoke(cli, args), 1)
    assert "--report and -o" not in line
    assert line.startswith(f"Error: {src}: the report would overwrite the input file")


def test_a_directory_input_is_said_to_be_one(runner, tmp_path):
    args = ["diffuse", str(tmp_path), "--steps", "1", "-o", str(tmp_path / "o.csv")]
    assert _error(runner.invoke(cli, args), 1) == (
        f"Error: {tmp_path}: is a directory, not a signal file; give its files ({tmp_path}/*)"
    )


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["", "-o", "o.csv"], "input"),
        (["b.csv", "-o", ""], "output"),
        (["b.csv", "--report", ""], "report"),
    ],
)
def test_an_empty_name_is_said_to_be_empty(runner, tmp_path, rng, monkeypatch, args, what):
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "b.csv", rng.standard_normal(40))
    line = _error(runner.invoke(cli, ["diffuse", *args, "--steps", "1"]), 2)
    assert line.startswith(f"Error: the {what} file name is empty ('')")


def test_an_output_below_a_file_says_it_is_a_file(runner, tmp_path, rng):
    src = _csv(tmp_path / "b.csv", rng.standard_normal(40))
    (tmp_path / "c.csv").write_text("1\n")
    out = tmp_path / "c.csv" / "o.csv"
    line = _error(runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", str(out)]), 1)
    assert (
        line
        == f"Error: {out}: '{tmp_path / 'c.csv'}' is a file, not a directory; give another path"
    )


# e. a closed stdout is an error for every command


@pytest.mark.parametrize(
    "args",
    [["dictionary"], ["translate", "--activation", "tanh"], ["--version"], ["--help"]],
)
def test_closed_stdout_fails_every_command(args):
    proc = subprocess.run(
        [EXE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
        preexec_fn=lambda: __import__("os").close(1),
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.decode() == "Error: <stdout>: cannot write: stdout is closed\n"


def test_closed_stdout_with_json_writes_no_network(tmp_path):
    src = _csv(tmp_path / "two.csv", [1.0, 2.0, 0.5])
    net = tmp_path / "n.toml"
    proc = subprocess.run(
        [EXE, "learn", str(src), "-o", str(net), "--json", "-q", "--iterations", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
        preexec_fn=lambda: __import__("os").close(1),
    )  # fmt: skip
    assert proc.returncode == 1 and b"stdout is closed" in proc.stderr
    assert not net.exists()


# f. the search's budget is said as what it is


def test_a_search_stopped_by_the_shared_budget_says_so(rng):
    noisy = np.sign(np.sin(np.linspace(0, 7, 300))) + 0.3 * rng.standard_normal(300)
    choice = autoparams.choose_parameters(noisy, "perona-malik", "diffusivity", max_blocks=60)
    s = choice.stopping
    short = dataclasses.replace(
        s, blocks=(*s.blocks[:-1], 45), reached_cap=True, steps=40
    )  # stopped at 45 of the cap 60: the budget ran out
    (warning,) = dataclasses.replace(choice, stopping=short).warnings()
    assert warning.startswith(
        "the automatic search stopped at 45 blocks, where the budget all lambda candidates "
        f"share ({autoparams.SEARCH_BUDGET} x the cap of 60 blocks) ran out"
    )
    capped = dataclasses.replace(s, blocks=(*s.blocks[:-1], 60), reached_cap=True, steps=50)
    (warning,) = dataclasses.replace(choice, stopping=capped).warnings()
    assert warning.startswith("the automatic search stopped at its cap of 60 blocks")


def test_readme_states_the_search_budget():
    assert "candidates share a budget of 2 x 20000 blocks" in README
    assert autoparams.SEARCH_BUDGET == 2 and autoparams.MAX_BLOCKS == 20000


# g. wording: plurals, a reduced --scales said, no negative ratio of losses


def test_counted_plurals():
    from resdenoise.errors import counted

    assert [counted(1, "scale"), counted(4, "group"), counted(0, "block")] == [
        "1 scale",
        "4 groups",
        "0 blocks",
    ]


def test_one_scale_is_one_scale():
    report = {
        "stability": {"sign_stable": True, "linf_stable": True},
        "parameters": {},
        "name": "soft",
        "family": "soft",
        "form": "shrinkage",
        "steps": 1,
        "tau": 0.25,
        "stopping_time": 0.25,
        "scales": [{"stride": 1}],
    }
    assert summary_line(report).endswith(", 1 scale filtered (stride 1)")


def _learning(**changes) -> str:
    report = {
        "stability": {"sign_stable": True, "linf_stable": True, "tau": 0.25},
        "network": "n.toml",
        "objective": "sure",
        "initial_loss": -0.2,
        "loss": -0.5,
        "loss_ratio": None,
        "inputs": ["a.csv"],
        "iterations": 1,
        "groups": 4,
        "blocks_per_group": 1,
        "bumps": 1,
        "evaluations": 1,
        "samples": 1,
        "optimiser_message": "converged",
        **changes,
    }
    console = Console(record=True, width=300)
    render_learning(report, console)
    return console.export_text()


def test_learning_lines_count_in_the_singular_and_plural():
    text = _learning()
    assert (
        "4 groups x 1 block of tau = 0.25, 1 bump each; 1 iteration (1 evaluation) on 1 file (1 value)"
        in text
    )


def test_a_negative_loss_shows_its_change_not_a_ratio():
    text = _learning()
    assert "sure loss -0.2 -> -0.5 (down by 0.3)\n" in text and not re.search(r"[\d.]x\)", text)
    assert "(0.5x)" in _learning(initial_loss=1.0, loss=0.5, loss_ratio=0.5)


def test_a_negative_loss_has_no_ratio_in_the_report():
    from resdenoise.learn import FitResult

    def ratio(initial: float, loss: float):
        fit = FitResult((), np.zeros(0), "sure", initial, loss, 1, 1, (), "converged")
        return fit.as_dict()["loss_ratio"]

    assert ratio(-0.2, -0.5) is None and ratio(0.2, -0.1) is None and ratio(-0.2, 0.1) is None
    assert ratio(2.0, 0.5) == 0.25


def test_scales_beyond_the_signal_are_said_reduced(runner, tmp_path, rng):
    src = _csv(tmp_path / "in.csv", rng.standard_normal(128))
    result = runner.invoke(
        cli, ["shrink", str(src), "--scales", "100", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: 100 scales asked, at most 5 used: the most a signal of 128 samples holds "
        "(each scale's subsequences at least 8 samples)"
    ) in result.stderr


# h. output names


def test_learn_refuses_a_network_file_not_named_toml(runner, tmp_path, rng):
    src = _csv(tmp_path / "in.csv", rng.standard_normal(40))
    line = _error(runner.invoke(cli, ["learn", str(src), "-o", str(tmp_path / "n.csv")]), 2)
    assert line.startswith(f"Error: {tmp_path / 'n.csv'}: a network file is TOML; name it ")
    assert not (tmp_path / "n.csv").exists()
    per_file = ["learn", "--per-file", str(src), "-o", str(tmp_path / "o.csv")]
    line = _error(runner.invoke(cli, [*per_file, "--network-out", str(tmp_path / "n.txt")]), 2)
    assert line.endswith("(--network-out)")


def test_readme_states_the_output_name_rule():
    assert "a name without one\n(`-o result`) is CSV" in README
    assert "(`-o n.csv`) is refused (exit 2)" in README


# i. an unknown output extension is a bad option value (exit 2), as the table says


def test_unknown_output_extension_exits_2(runner, tmp_path, rng):
    src = _csv(tmp_path / "in.csv", rng.standard_normal(40))
    line = _error(
        runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", str(tmp_path / "x.zzz")]), 2
    )
    assert "cannot tell the format from the extension '.zzz'" in line
    assert line.endswith("(or --output-format)")


def test_readme_table_lists_the_output_problems_where_the_code_exits():
    rows = {int(m[0]): m[1] for m in re.findall(r"^\| (\d) \| (.*) \|$", README, re.M)}
    assert "an output or report that would overwrite or lie inside a file the run reads" in rows[1]
    # scaling.py's refusal (test_scaled_scales: exit 1, "the --sigma given ... too far apart")
    assert "a `--lambda` or `--sigma` given too far from the samples for a search" in rows[1]
    assert "an output extension that names no format" in rows[2]


# j. a bound that underflows to 0 says so


def test_translate_says_an_underflowing_bound(runner):
    result = runner.invoke(cli, ["translate", "--activation", "tanh", "--h", "1e-200"])
    assert result.exit_code == 0
    assert "stable for tau <= 0" not in result.stdout
    assert "no float64 tau is stable: the bound h^2/(2 g_max) underflows to 0" in result.stdout


def test_translate_table_marks_an_underflowed_bound(runner):
    """The table's bound rows said a bare 0 above the explanation; an unbounded g's 0
    (no stable tau at any h) is not an underflow and is not marked."""
    rows = {}
    for args in (["--activation", "tanh", "--h", "1e-200"], ["--diffusivity-expr", "r*r"]):
        result = runner.invoke(cli, ["translate", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        rows[args[0]] = [line for line in result.stdout.splitlines() if "tau bound" in line]
    assert len(rows["--activation"]) == 2
    assert all("0 (underflows)" in line for line in rows["--activation"]), rows
    assert not any("underflows" in line for line in rows["--diffusivity-expr"]), rows


def test_diffuse_says_an_underflowing_bound(runner, tmp_path, rng):
    src = _csv(tmp_path / "in.csv", rng.standard_normal(40))
    args = ["diffuse", str(src), "--h", "1e-200", "--steps", "1", "--tau", "1e-300"]
    line = _error(runner.invoke(cli, args), 3)
    assert "A stable tau is <= 0" not in line
    assert "no float64 tau is stable" in line.lower() and "--h" in line


# lower priority: the Python API


def test_api_steps_auto_is_a_parameter_error(step_signal):
    with pytest.raises(
        ParameterError, match=r"steps must be an integer >= 1, got 'auto'; 'auto' is for time"
    ):
        resdenoise.diffuse(step_signal, steps="auto")


def test_api_refuses_complex_samples(step_signal):
    with pytest.raises(SignalError, match=r"the signal is complex \(complex128\)"):
        resdenoise.diffuse(step_signal + 1j, steps=2)


def test_api_square_array_says_the_axis_is_ambiguous():
    with pytest.raises(ParameterError) as info:
        resdenoise.diffuse(np.eye(3), steps=1)
    message = str(info.value)
    assert "which axis holds the channels is ambiguous" in message
    assert "3 samples of 3 channels, or 3 samples of 3 channels" not in message
