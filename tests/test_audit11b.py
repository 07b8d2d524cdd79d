"""Operator defects an audit confirmed (audit11b: D3, D5 to D10, D13): settings from the
environment checked before any work, one exit code for a missing extra, a --strict failure
naming its file, -q everywhere, no matplotlib advice and no blank line on stderr, readable
step counts, and every JSON stamped with the tool and its layout's version."""

from __future__ import annotations

import os

import numpy as np
import pytest
from test_audit_messages import README, _csv, _error

from resdenoise.cli import COMMAND_MODULES, cli

# D6. RESDENOISE_THREADS above the compiled loop's 256 crashed long runs; bad values and
# RESDENOISE_ENGINE=bogus were ignored silently: refused in one line, exit 2, nothing written


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("RESDENOISE_THREADS", "257", "from 1 to 256"),
        ("RESDENOISE_THREADS", "abc", "from 1 to 256"),
        ("RESDENOISE_THREADS", "0", "from 1 to 256"),
        ("RESDENOISE_THREADS", "-1", "from 1 to 256"),
        ("RESDENOISE_ENGINE", "bogus", "give auto or numpy"),
        ("RESDENOISE_ENGINE", "NUMPY", "give auto or numpy"),
    ],
)
def test_environment_settings_out_of_range_are_refused_before_any_work(
    runner, tmp_path, monkeypatch, name, value, accepted
):
    src = _csv(tmp_path / "s.csv", [1, 2, 3, 4, 5])
    out = tmp_path / "o.csv"
    monkeypatch.setenv(name, value)
    line = _error(runner.invoke(cli, ["diffuse", str(src), "--steps", "3", "-o", str(out)]), 2)
    assert line.startswith(f"Error: {name}={value!r}: "), line
    assert accepted in line, line
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "value"), [("RESDENOISE_THREADS", "256"), ("RESDENOISE_ENGINE", "auto")]
)
def test_environment_settings_in_range_run(runner, tmp_path, monkeypatch, name, value):
    src = _csv(tmp_path / "s.csv", [1, 2, 3, 4, 5])
    monkeypatch.setenv(name, value)
    result = runner.invoke(
        cli, ["diffuse", str(src), "--steps", "3", "-q", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("RESDENOISE_THREADS", "257"), ("RESDENOISE_THREADS", "x"), ("RESDENOISE_ENGINE", "bogus")],
)
@pytest.mark.parametrize("command", ["", *sorted(COMMAND_MODULES)])
def test_help_and_version_work_whatever_the_environment_says(
    runner, monkeypatch, name, value, command
):
    """leftovers12: the check ran in the command group, so that a bad value made even
    ``resdenoise diffuse --help`` an error (exit 2); help is answered before a run."""
    monkeypatch.setenv(name, value)
    words = command.split()
    for option in ("--help", "-h", "--version"):
        if option == "--version" and words:
            continue  # the group's own option
        result = runner.invoke(cli, [*words, option])
        assert result.exit_code == 0, (option, result.stderr)
        assert result.stderr == "" and result.stdout.strip(), option


@pytest.mark.parametrize(
    "args",
    [
        ["dictionary"],
        ["translate", "--diffusivity", "charbonnier"],
        ["shrink", "{src}", "--threshold", "0.5", "-o", "{dir}/o.csv"],
        ["regularise", "{src}", "--alpha", "1", "-o", "{dir}/o.csv"],
        ["resnet", "{src}", "--lambda", "1", "--blocks", "2", "-o", "{dir}/o.csv"],
        ["denoise", "{src}", "-o", "{dir}/o.csv"],
        ["learn", "{src}", "--clean", "{src}", "-o", "{dir}/n.toml"],
    ],
)
def test_every_command_still_refuses_a_bad_environment_before_any_work(
    runner, tmp_path, monkeypatch, args
):
    src = _csv(tmp_path / "s.csv", np.sin(np.arange(64) / 5.0))
    monkeypatch.setenv("RESDENOISE_THREADS", "257")
    words = [a.format(src=src, dir=tmp_path) for a in args]
    line = _error(runner.invoke(cli, words), 2)
    assert line.startswith("Error: RESDENOISE_THREADS='257': "), line
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


def test_every_command_checks_the_environment():
    """Each command's class runs the check (a command added without it would skip it)."""
    import click

    from resdenoise.cli.options import Command

    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert isinstance(cli.get_command(ctx, name), Command), name


def test_the_library_takes_at_most_the_compiled_loops_threads(monkeypatch):
    """A host with more cores than the compiled loop takes runs on 256 threads, where it
    crashed on long signals; a larger setting is refused from Python too (audit13a F11:
    the program's rule, where the library took 256)."""
    import resdenoise.pairs as pairs
    from resdenoise.engine import default_threads
    from resdenoise.errors import ParameterError

    monkeypatch.delenv("RESDENOISE_THREADS", raising=False)
    monkeypatch.setattr(pairs, "usable_cores", lambda: 384)
    assert default_threads(10**8, 10**4) == 256
    monkeypatch.setenv("RESDENOISE_THREADS", "1000")
    with pytest.raises(ParameterError, match="from 1 to 256"):
        default_threads(10, 1)


def test_the_readme_documents_the_environment_settings():
    assert "a whole number from 1 to\n256" in README
    assert "`RESDENOISE_ENGINE=numpy`" in README and "`auto` (or unset)" in README


# D3. a missing optional extra exited 1 (learn, --plot) or 2 (.zarr, --scheduler): one code,
# 2, and one message naming the pip install to run; a row of the README's exit codes


@pytest.mark.parametrize(
    ("modules", "args", "extra"),
    [
        (
            ("scipy.optimize",),
            ["learn", "{src}", "--clean", "{src}", "-o", "{dir}/n.toml"],
            "learn",
        ),
        (("matplotlib", "matplotlib.figure"), ["dictionary", "--plot", "{dir}/p.png"], "plot"),
        (("zarr",), ["diffuse", "{src}", "--steps", "3", "-o", "{dir}/o.zarr"], "dask"),
        (
            ("distributed",),
            [
                "diffuse",
                "{src}",
                "{src2}",
                "--steps",
                "3",
                "-o",
                "{dir}/out/",
                "--scheduler",
                "tcp://127.0.0.1:1",
            ],
            "dask",
        ),
    ],
)
def test_a_missing_extra_exits_2_naming_the_install(
    runner, tmp_path, monkeypatch, modules, args, extra
):
    import sys

    src = _csv(tmp_path / "s.csv", [1, 2, 3, 4, 5, 6, 7, 8])
    src2 = _csv(tmp_path / "t.csv", [1, 2, 3, 4, 5, 6, 7, 8])
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)  # not installed
    argv = [a.format(src=src, src2=src2, dir=tmp_path) for a in args]
    line = _error(runner.invoke(cli, argv), 2)
    assert line.endswith(f": pip install '.[{extra}]' in the resdenoise checkout"), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "t.csv"]


def test_the_exit_code_table_has_a_row_for_a_missing_extra():
    import re

    rows = {int(m[0]): m[1] for m in re.findall(r"^\| (\d) \| (.*) \|$", README, re.M)}
    assert "also an optional extra not installed" in rows[2]
    assert "pip install '.[EXTRA]'" in rows[2]


# D9. a single file's --strict failure did not name the file (a batch's line did): the one
# format of both, so that lines interleaved under make -j can be traced to their input

_UNSTABLE = ["--steps", "30", "--tau", "0.9", "--allow-unstable", "--strict", "-q"]


def test_a_strict_failure_names_its_file_alone_and_in_a_batch(runner, tmp_path):
    src = _csv(tmp_path / "s.csv", [0, 1] * 5)
    src2 = _csv(tmp_path / "t.csv", [0, 1] * 5)
    one = _error(
        runner.invoke(cli, ["diffuse", str(src), *_UNSTABLE, "-o", str(tmp_path / "o.csv")]), 4
    )
    assert one.startswith(f"Error: {src}: --strict: run was not L-infinity stable: "), one
    batch = runner.invoke(
        cli, ["diffuse", str(src), str(src2), *_UNSTABLE, "-o", f"{tmp_path}/out/"]
    )
    assert batch.exit_code == 4, batch.stderr
    assert one in batch.stderr.splitlines(), batch.stderr  # the same line, word for word


def test_a_strict_failure_on_stdin_names_stdin(runner, tmp_path):
    src = _csv(tmp_path / "s.csv", [0, 1] * 5)
    args = ["diffuse", "-", *_UNSTABLE, "-o", str(tmp_path / "o.csv")]
    line = _error(runner.invoke(cli, args, input=src.read_text()), 4)
    assert line.startswith("Error: <stdin>: --strict: "), line


# D13. translate and dictionary had no -q: --plot always said "plot written to" on stderr


@pytest.mark.parametrize("command", [["translate", "--activation", "tanh"], ["dictionary"]])
def test_translate_and_dictionary_take_q(runner, tmp_path, command):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "p.png"
    loud = runner.invoke(cli, [*command, "--plot", str(plot)])
    assert loud.exit_code == 0 and loud.stderr == f"plot written to {plot}\n", loud.stderr
    plot.unlink()
    quiet = runner.invoke(cli, [*command, "--plot", str(plot), "-q"])
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == loud.stdout and plot.exists()
    assert "`-q` leaves that line out" in README.replace("\n", " ")


# D8. on a terminal with TERM=dumb (or unknown) rich draws no bar, but its stop printed a
# newline: a blank line before the verdict and before a batch's last line


def _on_a_terminal(args, env) -> str:
    """What the program writes on stderr, a pseudo-terminal, with ``env``."""
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "resdenoise", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env={**os.environ, **env},
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(master)
    return b"".join(chunks).decode()


@pytest.mark.parametrize("term", ["dumb", "unknown"])
def test_no_blank_line_on_a_dumb_terminal(tmp_path, term):
    import numpy as np

    rng = np.random.default_rng(1)
    src = _csv(tmp_path / "s.csv", rng.standard_normal(20000))
    src2 = _csv(tmp_path / "t.csv", rng.standard_normal(20000))
    env = {"TERM": term, "COLUMNS": "200"}
    one = _without_progress(
        _on_a_terminal(["diffuse", str(src), "--steps", "400", "-o", str(tmp_path / "o.csv")], env)
    )
    assert one.startswith(f"{src} -> "), repr(one)
    batch = _without_progress(
        _on_a_terminal(
            ["diffuse", str(src), str(src2), "--steps", "400", "-o", f"{tmp_path}/out/"], env
        )
    )
    assert batch.startswith(f"{src} -> ") and "\r\n\r\n" not in batch, repr(batch)
    assert batch.endswith("\r\n2 files: 2 written\r\n"), repr(batch)


def _without_progress(text: str) -> str:
    """``text`` without the plain progress lines a dumb terminal gets every few seconds
    (session 39; a loaded machine's run may last that long)."""
    import re

    return re.sub(r"(?m)^[st]\.csv [\w ,/]+: \d+ % [^\r\n]*\r\n", "", text)


# D7. a too-large --time or --alpha printed the step count as a 300-digit integer (a
# float's binary expansion): said in scientific notation, the rest of the message kept


@pytest.mark.parametrize("option", ["--time", "--alpha"])
def test_a_huge_step_count_is_said_readably(runner, tmp_path, option):
    import re

    src = _csv(tmp_path / "s.csv", [1, 2, 3, 4, 5, 6, 7, 8])
    command = "diffuse" if option == "--time" else "regularise"
    line = _error(
        runner.invoke(cli, [command, str(src), option, "1e300", "-o", str(tmp_path / "o.csv")]), 2
    )
    name = option[2:]
    assert line.startswith(
        f"Error: {name} 1e+300 at tau <= 0.25 needs about 4e+300 steps, more "
    ), line
    assert line.endswith(f"; give a smaller {option}, at most 2.5e+07"), line
    assert not re.search(r"\d{16}", line), line


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (10**8 + 1, "100000001 blocks"),
        (10**23, "about 1e+23 blocks"),
        (10**400, "more than 1e+308 blocks"),
    ],
    ids=["limit", "1e23", "1e400"],
)
def test_a_huge_count_of_blocks_is_said_readably(count, said):
    from resdenoise.errors import ParameterError
    from resdenoise.filters import check_setting

    with pytest.raises(ParameterError) as err:
        check_setting("steps", count, integer=True)
    assert str(err.value).startswith(f"{said} are more than a run may take"), str(err.value)


# D10. --plot with an unusable $HOME printed matplotlib's two-line cache advice on stderr


@pytest.mark.parametrize("command", [["translate", "--activation", "tanh"], ["dictionary"]])
def test_plot_with_an_unusable_home_says_only_its_own_line(tmp_path, command):
    import os
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    home = tmp_path / "home"
    home.write_text("a file, not a directory: nothing can be made under it\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
    }
    env.update(HOME=str(home), TMPDIR=str(tmp))
    plot = tmp_path / "p.png"
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", *command, "--plot", str(plot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"plot written to {plot}\n"
    assert plot.exists() and list(tmp.iterdir()) == []  # matplotlib's temporary cache: gone


# D5. learn --json, translate --json and dictionary --json had no tool / schema_version


def test_every_json_of_the_program_is_stamped(runner, tmp_path):
    import json

    from resdenoise import __version__
    from resdenoise.report import SCHEMA_VERSION

    src = _csv(tmp_path / "s.csv", [1, 2, 3, 4, 5, 6, 7, 8])
    few = "--iterations 2 --blocks 2 --json -o".split()
    commands = {
        (
            "diffuse",
            str(src),
            "--steps",
            "3",
            "--json",
            "-o",
            str(tmp_path / "o.csv"),
        ): SCHEMA_VERSION,
        ("learn", str(src), "--clean", str(src), *few, str(tmp_path / "n.toml")): 1,
        ("learn", "--per-file", str(src), *few, str(tmp_path / "p.csv")): 1,
        ("translate", "--activation", "tanh", "--json"): 1,
        ("dictionary", "--json"): 1,
    }
    for args, version in commands.items():
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, (args, result.stderr)
        report = json.loads(result.stdout)
        assert list(report)[:2] == ["tool", "schema_version"], args
        assert report["tool"] == {"name": "resdenoise", "version": __version__}, args
        assert report["schema_version"] == version, args
    assert report[
        "entries"
    ] and "dictionary --json`'s entries have layouts of their own" in README.replace("\n", " ")
