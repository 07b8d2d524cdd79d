"""A newcomer's audit of the command line (2026-12-05): each case below failed on
main before its fix, as the docstring of its test says.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

SIGNAL = "v\n1\n2\n1.5\n3\n2.5\n2\n1\n"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize(
    "args, flag",
    [
        (["diffuse", "IN", "--steps", "2", "--h", "nan"], "--h"),
        (["diffuse", "IN", "--steps", "2", "--tau", "NaN"], "--tau"),
        (["diffuse", "IN", "--steps", "2", "--sigma", "nan"], "--sigma"),
        (["diffuse", "IN", "--steps", "2", "--sigma", "inf"], "--sigma"),
        (["translate", "--activation", "tanh", "--tau", "nan", "--check"], "--tau"),
        (["translate", "--activation", "tanh", "--lambda", "nan"], "--lambda"),
        (["dictionary", "--lambda", "nan"], "--lambda"),
        (["learn", "IN", "--sigma", "nan", "-o", "OUT.toml"], "--sigma"),
    ],
)
def test_nan_and_inf_options_are_usage_errors_naming_the_option(runner, tmp_path, args, flag):
    """click's FloatRange let 'nan' through (and --sigma took inf): ``--h nan`` failed as
    "the automatic lambda is nan ...; give --lambda", ``translate --tau nan --check``
    exited 3 (unstable), ``dictionary --lambda nan --plot`` was an internal error,
    ``learn --sigma nan`` blamed "coefficient 1", ``--sigma inf`` named no option."""
    src = tmp_path / "in.csv"
    src.write_text(SIGNAL)
    args = [str(src) if a == "IN" else str(tmp_path / a) if a == "OUT.toml" else a for a in args]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"'{flag}'" in lines[0], lines[0]
    assert not (tmp_path / "OUT.toml").exists()


def test_a_file_name_on_a_progress_bar_is_not_markup(monkeypatch):
    """The bars' description column was rich markup: a file named '[red]in.csv'
    showed as a red 'in.csv'."""
    import io

    from rich.console import Console

    from resdenoise.cli import render

    monkeypatch.setenv("TERM", "xterm")
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with render.Bars(console=console) as bars:
        bars.update(0, "[red]in.csv", "blocks", 10, 100)
        bars.progress.refresh()
    assert "[red]in.csv blocks" in out.getvalue()


ESC = "\x1b]0;T\x07"  # a window title (click strips colours off a terminal, not this)


def test_control_characters_from_files_never_reach_the_terminal(runner, tmp_path):
    """Text from a file or its name was written raw: an ESC in a network's
    description or label, or in a file name, coloured (or moved the cursor of,
    or retitled) the user's terminal, in the verdict, the tables and errors."""
    src = tmp_path / f"in{ESC}.csv"
    src.write_text(SIGNAL)
    net = tmp_path / "net.toml"
    net.write_text(
        'description = "D\\u001b[31mRED"\n[[block]]\nactivation = "tanh"\nrepeat = 2\n'
        'label = "L\\u001b]0;TITLE\\u0007"\n'
    )
    args = ["resnet", str(src), "--network", str(net), "-v", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, args, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr, repr(result.stderr)
    assert "in\\x1b]0;T\\x07.csv ->" in result.stderr
    assert "network D\\x1b[31mRED" in result.stderr and "L\\x1b]0;TITLE\\x07" in result.stderr
    missing = tmp_path / f"no{ESC}.csv"
    result = runner.invoke(cli, ["diffuse", str(missing), "--steps", "1", "-q"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}/no\\x1b]0;T\\x07.csv: no such file\n"
    two = ["diffuse", str(src), str(missing), "--steps", "1", "-o", str(tmp_path / "out") + "/"]
    result = runner.invoke(cli, two)
    assert result.exit_code == 1 and "\x1b" not in result.stderr, repr(result.stderr)
    assert "in\\x1b]0;T\\x07.csv -> " in result.stderr
    assert f"Error: {tmp_path}/no\\x1b]0;T\\x07.csv: no such file\n" in result.stderr


def _help(runner, *command) -> str:
    result = runner.invoke(cli, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_help_says_what_stdout_carries(runner):
    """'CSV on stdout unless -o is given': stdout keeps the input's format (WAV
    stays WAV in a pipe)."""
    text = _help(runner)
    assert "CSV on stdout" not in text
    assert "on stdout in the input's format" in text


def test_denoise_help_names_every_candidate_over_scales(runner):
    """denoise --help left out garrote shrinkage over scales, which it tries."""
    from resdenoise.automatic import CANDIDATES

    over_scales = {name for label, _, _, name in CANDIDATES if label.endswith("scales")}
    assert over_scales == {"soft", "garrote", "perona-malik"}
    text = _help(runner, "denoise")
    assert "soft and garrote shrinkage and Perona-Malik diffusion over several scales" in text


def test_translate_help_is_accurate(runner):
    """'A activation', and 'Phi = Psi'/2 by differences' (it is the formula's exact
    derivative, resdenoise.expr)."""
    text = _help(runner, "translate")
    assert "A activation" not in text and "An activation of the registry" in text
    assert "Psi'/2 by differences" not in text
    assert "Phi = Psi'/2 by exact differentiation of the formula" in text


def test_install_hints_name_the_checkout_not_pypi(runner, tmp_path, monkeypatch):
    """resdenoise is not on PyPI: "pip install 'resdenoise[dask]'" (README, the Zarr
    error) and 'resdenoise[learn]' (learn --help) would fetch someone else's package."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "install 'resdenoise[" not in readme
    assert "resdenoise[" not in _help(runner, "learn")
    monkeypatch.setitem(__import__("sys").modules, "zarr", None)  # not installed
    src = tmp_path / "in.zarr"
    src.mkdir()
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-q"])
    assert result.exit_code == 2, result.stderr
    assert "pip install '.[dask]' in the resdenoise checkout" in result.stderr, result.stderr


def test_no_message_of_the_package_sends_a_user_to_pypi():
    """The hints in the library's own errors (dask arrays, --scheduler, learn) name the
    checkout too, as the command line's do."""
    from pathlib import Path

    import resdenoise

    root = Path(resdenoise.__file__).parent
    found = [
        f"{p.relative_to(root)}:{n}"
        for p in sorted(root.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if "install 'resdenoise[" in line or "Needs resdenoise[" in line
    ]
    assert found == []


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "a,b\n1,2\n3,x\n5,6\n",
            "line 3, column 2 ('b'): 'x' is not a number; correct it or delete line 3",
        ),
        (
            "a,b\n1,2\n3,nan\n5,6\n",
            "line 3, column 2 ('b'): 'nan' is not a finite number; "
            "replace it with one or delete line 3",
        ),
        (
            "a,b\n1,2\n3,\n5,6\n",
            "line 3, column 2 ('b'): empty cell; every sample needs a "
            "number: fill it in or delete line 3",
        ),
        ("a,b\n1,2\n3\n5,6\n", "line 3 has 1 field, expected 2"),
    ],
)
def test_a_bad_csv_cell_says_what_to_do(runner, tmp_path, text, message):
    """The file, line and field and what is wrong were named, but not what to do
    ('x' is not a number); and 'line 3 has 1 fields'."""
    src = tmp_path / "in.csv"
    src.write_text(text)
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {src}: {message}"), result.stderr
    assert src.read_text() == text and not (tmp_path / "o").exists()


def test_a_batch_of_one_counts_one_file(runner, tmp_path):
    """-o DIR/ with one INPUT ended with '1 files: 1 written'."""
    src = tmp_path / "in.csv"
    src.write_text(SIGNAL)
    result = runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", f"{tmp_path}/out/"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "1 file: 1 written"


@pytest.mark.parametrize("chunks", [[], ["--chunk-size", "3"]])
def test_the_report_holds_the_warning_printed(runner, tmp_path, chunks):
    """A run above the sign-stable bound warned on stderr, but its JSON report had
    no ``warnings`` (a pipeline reading --json never saw it)."""
    import json

    src = tmp_path / "in.csv"
    src.write_text(SIGNAL)
    args = ["diffuse", str(src), "--steps", "2", "--tau", "0.4", "-o", str(tmp_path / "o.csv")]
    result = runner.invoke(cli, [*args, "--json", *chunks])
    assert result.exit_code == 0, result.stderr
    printed = [line[len("warning: ") :] for line in result.stderr.splitlines() if "warning" in line]
    assert len(printed) == 1 and "above the sign-stable bound" in printed[0], result.stderr
    assert json.loads(result.stdout)["warnings"] == printed


@pytest.mark.parametrize("subtype", ["FLOAT", "DOUBLE"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("dtype", ["auto", "float64"])
def test_a_streamed_audio_file_names_its_non_finite_sample(runner, tmp_path, subtype, bad, dtype):
    """Read in chunks, a float WAV with a NaN or an infinity was refused as "samples up
    to inf are beyond the range of float32; use --dtype float64", or as "output values
    are not finite (the run diverged)"; read whole it named the sample."""
    import numpy as np
    import soundfile

    x = np.zeros((40, 2))
    x[5, 1] = bad
    src = tmp_path / "in.wav"
    soundfile.write(src, x, 8000, subtype=subtype)
    out = tmp_path / "o.wav"
    expected = f"Error: {src}: sample 6, channel 2 is {bad!r}, not a finite number\n"
    for chunks in ([], ["--chunk-size", "10"]):
        args = ["diffuse", str(src), "--steps", "1", "--dtype", dtype, "-o", str(out), *chunks]
        result = runner.invoke(cli, args)
        assert (result.exit_code, result.stderr) == (1, expected), chunks
        assert not out.exists()


def test_a_non_finite_sample_is_named_by_its_channel_in_the_file(runner, tmp_path):
    """With --columns 2 a NaN in the file's channel 2 was 'channel 1' (the first filtered),
    read whole; a NaN in a channel carried through is no error, whole or in chunks."""
    import numpy as np
    import soundfile

    x = np.zeros((40, 2))
    x[5, 1] = np.nan
    src = tmp_path / "in.wav"
    soundfile.write(src, x, 8000, subtype="FLOAT")
    out = str(tmp_path / "o.wav")
    for chunks in ([], ["--chunk-size", "10"]):
        args = ["diffuse", str(src), "--steps", "1", "-q", "-o", out, *chunks]
        result = runner.invoke(cli, [*args, "--columns", "2"])
        assert result.exit_code == 1
        assert result.stderr == f"Error: {src}: sample 6, channel 2 is nan, not a finite number\n"
        assert runner.invoke(cli, [*args, "--columns", "1"]).exit_code == 0


def test_learn_counts_in_the_singular(runner, tmp_path):
    """'1 iterations' in learn's summary, '1 noisy files and 2 --clean files' in its error."""
    src = tmp_path / "in.csv"
    # a sawtooth and a little deterministic roughness (the exact sawtooth alone, 64
    # samples, reads a noise level of 0 since 3e5697f: nothing to learn, 0 iterations)
    rows = (f"{(i % 7) * 0.1 + 0.01 * ((i * 37) % 11 - 5):.3f}" for i in range(64))
    src.write_text("v\n" + "\n".join(rows) + "\n")
    args = ["learn", str(src), "--iterations", "1", "--blocks", "2", "--groups", "1"]
    result = runner.invoke(cli, [*args, "--stop", "none", "-o", str(tmp_path / "n.toml")])
    assert result.exit_code == 0, result.stderr
    assert "; 1 iteration (" in result.stderr, result.stderr
    result = runner.invoke(cli, [*args, "--clean", str(src), "--clean", str(src), "-o", "x.toml"])
    assert result.exit_code == 2
    assert "Error: 1 noisy file and 2 --clean files: give one" in result.stderr, result.stderr


def test_the_readme_and_the_help_name_the_same_options():
    """Every option of every command is in the README, and every option the README
    names exists (dictionary --family was in the help only)."""
    import re
    from pathlib import Path

    import click

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    ctx = click.Context(cli)
    options = {
        name
        for command in cli.list_commands(ctx)
        for param in cli.get_command(ctx, command).params
        for name in [*param.opts, *param.secondary_opts]
        if name.startswith("--")
    }
    in_readme = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", readme))
    assert options - in_readme == set()
    # --help, --version: click's; --table: python -m resdenoise.noise --table
    assert in_readme - options == {"--help", "--version", "--table"}


def test_stdin_cannot_be_the_input_and_the_reference(runner, tmp_path):
    """``- --reference -`` read stdin twice: "<stdin>: file is empty (0 bytes)"."""
    out = tmp_path / "o.csv"
    args = ["diffuse", "-", "--reference", "-", "--steps", "1", "-o", str(out)]
    result = runner.invoke(cli, args, input=SIGNAL)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the input and the reference are both stdin ('-'), which is read once; give "
        "the reference a file name\n"
    )
    assert not out.exists()


def test_a_newline_in_a_file_name_keeps_the_error_on_one_line(runner, tmp_path):
    """An error or verdict naming a file 'a<newline>b.csv' took two lines (a log
    reader takes the second for another message)."""
    missing = tmp_path / "a\nb.csv"
    result = runner.invoke(cli, ["diffuse", str(missing), "--steps", "1", "-q"])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}/a\\x0ab.csv: no such file\n"


@pytest.mark.parametrize("char, escape", [("\u202e", "\\u202e"), ("\u2028", "\\u2028")])
@pytest.mark.parametrize("batch", [False, True])
def test_bidi_overrides_and_line_separators_in_a_file_name_are_escaped(
    runner, tmp_path, char, escape, batch
):
    """A file name with U+202E (shows the rest of the line reversed) or U+2028 (a line
    break to many terminals and log readers) reached stderr as it was."""
    missing = tmp_path / f"a{char}b.csv"
    args = ["diffuse", str(missing), "--steps", "1", "-q"]
    if batch:
        good = tmp_path / "good.csv"
        good.write_text(SIGNAL)
        args += [str(good), "-o", f"{tmp_path}/out/"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path}/a{escape}b.csv: no such file\n"


def test_printable_escapes_once():
    from resdenoise.cli.options import printable

    text = "a\x1bb\u2029c\u2066d\u202ae\tf"
    assert printable(text) == "a\\x1bb\\u2029c\\u2066d\\u202ae\tf"
    assert printable(printable(text)) == printable(text)
