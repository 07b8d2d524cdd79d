"""audit20b: a newcomer following README and --help; a screen reader and plain
terminals (CI logs, 80 and 40 columns)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from resdenoise.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_signals"


def _run(args, columns: int = 80):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": str(columns)})


def _help(command: str, columns: int = 400) -> str:
    return " ".join(_run([command, "--help"], columns).stdout.split())


# A20b-7 -----------------------------------------------------------------------


def test_resnet_help_names_as_refused_only_the_activations_that_are(tmp_path):
    """resnet's help said relu, gelu, silu and leaky-relu were refused; they run, stable."""
    text = _help("resnet")
    refused = re.search(r"refused unless --allow-unstable\): ([\w, -]+)\.", text).group(1)
    stable = re.search(r"stable all the same \([^)]*\): ([\w, -]+)\.", text).group(1)
    refused, stable = refused.split(", "), stable.split(", ")
    assert refused == ["sigmoid"] and set(stable) == {"gelu", "leaky-relu", "relu", "silu"}
    for name in [*refused, *stable]:
        out = tmp_path / f"{name}.csv"
        result = _run(
            ["resnet", SAMPLES / "steps.csv", "--activation", name, "--blocks", 3, "-o", out]
        )
        assert result.exit_code == (3 if name in refused else 0), (name, result.output)
        assert out.exists() is (name in stable)


# A20b-1 -----------------------------------------------------------------------


def _scales_run(tmp_path, columns: int):
    import json

    report = tmp_path / f"r{columns}.json"
    result = _run(
        ["shrink", SAMPLES / "two_channels.csv", "--scales", 3, "-v",
         "-o", tmp_path / f"o{columns}.csv", "--report", report],
        columns,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stderr, json.loads(report.read_text())


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_the_scales_table_never_breaks_a_number(tmp_path, columns):
    """-v's scales table folded '8.93383e-17' into '8.93383e-' and '17' at 80 columns
    (every pipe and CI log), and every number into 2-3 character pieces at 40."""
    from resdenoise.cli.render import num

    text, report = _scales_run(tmp_path, columns)
    words = set(re.findall(r"[^\s│┃,]+", text))
    for scale in report["scales"]:
        m = scale["measured"]
        shown = [scale["threshold"], scale["noise_sigma"], m["mean_drift"]]
        for x in [*shown, *m["deviation_in"], *m["deviation_out"]]:
            assert num(x) in words, (num(x), text)
    assert all(len(line) <= columns for line in text.splitlines()[2:]), text
    assert all(line == line.rstrip() for line in text.splitlines()), text


def test_narrow_scales_are_lines_naming_each_channel(tmp_path):
    """At 40 columns the scales are read as 'header: value' lines; the deviation
    cell names each channel (it listed them comma-separated, unnamed)."""
    text, report = _scales_run(tmp_path, 40)
    table = text[text.index("scales, each checked on its own") :]
    assert "│" not in table.split("measured per channel")[0]
    assert "  level / stride: 1 / 1\n    threshold: " in table
    assert "column 1\n      ('pressure'): 19.9741 -> " in table
    assert "column 2 ('flow'): 14.4253 ->" in table


# A20b-8 -----------------------------------------------------------------------


def test_an_options_help_names_only_options_its_command_has():
    """resnet's --tau spoke of '--time T', which resnet does not have (diffuse's
    --tau text, shared); an option of another command is named with it."""
    import click

    ctx = click.Context(cli)
    other = r"(?:(?:resdenoise )?(?:" + "|".join(cli.list_commands(ctx)) + r") )?"
    found = []
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        flags = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for param in command.params:
            for m in re.finditer(other + r"(--[a-z][\w-]*)", getattr(param, "help", "") or ""):
                said = m.group(0)
                if said == m.group(1) and said not in {*flags, "--help"}:
                    found.append((name, param.name, said))
    assert found == []


# A20b-5 -----------------------------------------------------------------------


def test_a_level_off_the_range_it_does_not_promise_says_so(tmp_path):
    """Under 'guarantees held' the scales table read 'off by 2.33033' for levels >= 2,
    which keep no max-min principle (negative weights): a failed check, to a reader."""
    import numpy as np

    x = np.zeros(400)
    x[200] = 50.0
    x += 0.05 * np.random.default_rng(0).standard_normal(400)
    src = tmp_path / "spike.csv"
    np.savetxt(src, x)
    result = _run(
        ["shrink", src, "--scales", 4, "--threshold", 20, "-v", "-o", tmp_path / "o.csv"], 200
    )
    assert result.exit_code == 0 and "guarantees held" in result.stderr, result.output
    rows = [line for line in result.stderr.splitlines() if re.match(r"│\s+\d / \d", line)]
    assert len(rows) == 4 and rows[0].rstrip("│ ").endswith("yes"), rows
    assert all(re.search(r"│ not guaranteed, off by [\d.]+ │$", row) for row in rows[1:]), rows
    assert "measured there, not guaranteed, not a failed check" in result.stderr


# A20b-2 -----------------------------------------------------------------------


def test_the_snr_against_the_reference_is_in_the_default_output(tmp_path):
    """--reference's help says 'report MSE, SNR and PSNR': the SNR was only in -v's table
    and the JSON report; the default output said nothing of it."""
    import json

    report = tmp_path / "r.json"
    args = ["diffuse", SAMPLES / "steps.csv", "--time", 10, "-o", tmp_path / "o.csv"]
    result = _run([*args, "--reference", SAMPLES / "steps_clean.csv", "--report", report])
    assert result.exit_code == 0, result.output
    quality = json.loads(report.read_text())["quality"]
    snr = f"{quality['input']['snr_db'][0]:.1f} -> {quality['output']['snr_db'][0]:.1f} dB"
    assert result.stderr.splitlines()[2] == f"  against {SAMPLES / 'steps_clean.csv'}: SNR {snr}"
    two = SAMPLES / "two_channels.csv"
    result = _run(["diffuse", two, "--time", 10, "-o", tmp_path / "t.csv", "--reference", two])
    assert result.stderr.splitlines()[2].endswith(
        "SNR column 1 ('pressure') inf -> 11.9 dB, column 2 ('flow') inf -> 14.2 dB"
    ), result.stderr
    assert len(_run(args).stderr.splitlines()) == 2  # none without --reference


# A20b-3 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code, said",
    [
        (["--activation", "sigmoid"], 3, "fails the stability theorem: g >= 0, g bounded; exit code 3"),
        (["--regulariser", "huber", "--tau", "0.3"], 3, "fails the stability theorem: tau <= h^2/(4 g_max); exit code 3"),
        (["--activation", "tanh"], 0, "the stability theorem's conditions hold: g >= 0, g bounded"),
    ],
)  # fmt: skip
def test_translate_check_says_its_verdict_first_on_stderr(args, code, said):
    """translate --check's refusal (exit 3) was the last of ~50 lines on stdout, nothing on
    stderr; its wrapped condition lines lost their indent and ended in a space."""
    result = _run(["translate", *args, "--check"])
    assert result.exit_code == code
    name = args[1]
    assert result.stderr == f"translate {name}: {said}\n"
    lines = result.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines), result.stdout
    at = lines.index("stability theorem (paper, Theorem 2; README, 'Stability'):")
    conditions = itertools.takewhile(lambda line: line.startswith("  "), lines[at + 1 :])
    wrapped = [line for line in conditions if not re.match(r"  (holds|fails|no|note) ", line)]
    assert all(line.startswith(" " * 9) for line in wrapped), lines
    assert len(wrapped) >= 3 or name != "sigmoid"
    assert _run(["translate", *args, "--check", "-q"]).stderr == ""


# A20b-4 -----------------------------------------------------------------------

COMMANDS = (
    "denoise",
    "diffuse",
    "shrink",
    "regularise",
    "resnet",
    "learn",
    "translate",
    "dictionary",
)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_speaks_no_click_jargon(command):
    """'--steps INTEGER RANGE', '-o, --output TEXT', '[0.0<x<=1e+300]', '[x>=1]'."""
    text = _run([command, "--help"], 200).stdout
    flags = [line.split("  ")[1] for line in text.splitlines() if line.startswith("  -")]
    assert [f for f in flags if re.search(r"\b(INTEGER|FLOAT|TEXT|RANGE)\b", f)] == []
    assert re.findall(r"\[[^]]*([<>]=?x|x[<>]|1e\+300)", text) == []


@pytest.mark.parametrize(
    "args, said",
    [
        (["diffuse", "--steps", "abc"], "'--steps': 'abc' is not a whole number >= 1"),
        (["diffuse", "--time", 10, "--tau", 0], "'--tau': '0' is not a finite number > 0"),
        (["diffuse", "--time", 10, "--tau", "nan"], "'--tau': 'nan' is not a finite number > 0"),
        (["diffuse", "--time", 10, "-j", "x"], "'--jobs': 'x' is not a whole number >= 1"),
        (["learn", "-o", "n.toml", "--bumps", 40], "'40' is not a whole number from 2 to 32"),
    ],
)
def test_a_bad_number_is_refused_in_words(tmp_path, args, said):
    """'abc' is not a valid integer range. / 0.0 is not in the range 0.0<x<=1e+300."""
    result = _run([args[0], SAMPLES / "steps.csv", *args[1:]])
    assert result.exit_code == 2 and said in result.stderr, result.stderr


# A20b-6 -----------------------------------------------------------------------


def test_a_network_run_names_its_file_and_groups(tmp_path):
    """'network learned network activation (network), 111 blocks ...': the summary said
    'network' three times and not which file ran."""
    net = SAMPLES.parent / "examples" / "network.toml"
    result = _run(["resnet", SAMPLES / "steps.csv", "--network", net, "-o", tmp_path / "o.csv"])
    assert result.exit_code == 0, result.output
    line = result.stderr.splitlines()[1]
    said = "sharpen edges, smooth, then clean up small wiggles"
    assert line.startswith(f'  network {net} ("{said}", 3 groups), 35 blocks of tau'), line


# A20b-10 ----------------------------------------------------------------------


def test_out_of_memory_names_the_file_in_words(tmp_path, monkeypatch):
    """'Error: out of memory (Unable to allocate 45.8 MiB for an array with shape
    (2999998, 2) and data type float64)': no file named (a batch's line named it)."""
    import resdenoise.pipeline

    def no_memory(*args, **kwargs):
        raise MemoryError(
            "Unable to allocate 45.8 MiB for an array with shape (2999998, 2) and data type float64"
        )

    monkeypatch.setattr(resdenoise.pipeline, "_run", no_memory)
    said = "out of memory (45.8 MiB could not be allocated): the run needs more memory"
    src = SAMPLES / "steps.csv"
    one = _run(["diffuse", src, "--steps", 2, "-o", tmp_path / "o.csv"])
    assert one.exit_code == 5 and one.stderr.startswith(f"Error: {src}: {said}"), one.stderr
    batch = _run(["diffuse", src, SAMPLES / "two_channels.csv", "--steps", 2, "-o", f"{tmp_path}/"])
    errors = [line for line in batch.stderr.splitlines() if line.startswith("Error: ")]
    assert errors[0].startswith(f"Error: {src}: {said}"), batch.stderr


# A20b-9 -----------------------------------------------------------------------


def test_learn_help_has_sections_and_says_what_it_counts():
    """learn's --help was one flat list; its --blocks (per group) and --iterations
    (L-BFGS-B's) meant other things than resnet's --blocks and shrink's --iterations;
    its --input-format spoke of INPUT, which learn does not take."""
    from test_cli_help import sections

    text = _run(["learn", "--help"], 120).stdout
    found = sections(text)
    assert list(found) == ["Learning", "Files", "Output"], list(found)
    assert {"--blocks-per-group", "--training-iterations", "--groups"} <= set(found["Learning"])
    assert {"--clean", "-o", "--input-format", "--rate"} <= set(found["Files"])
    every = {flag for flags in found.values() for flag in flags}
    assert not {"--blocks", "--iterations"} & every  # the old names, hidden
    assert "INPUT" not in text and "Format of a NOISY or CLEAN file" in " ".join(text.split())


def test_learns_old_option_names_still_work(tmp_path):
    """--blocks and --iterations are kept as hidden names of the renamed options."""
    src = SAMPLES / "steps.csv"
    args = ["learn", src, "--clean", SAMPLES / "steps_clean.csv", "--groups", 1, "--stop", "none"]
    new = _run(
        [*args, "--blocks-per-group", 2, "--training-iterations", 1, "-o", tmp_path / "new.toml"]
    )
    old = _run([*args, "--blocks", 2, "--iterations", 1, "-o", tmp_path / "old.toml"])
    assert new.exit_code == old.exit_code == 0, (new.output, old.output)
    assert (tmp_path / "new.toml").read_bytes() == (tmp_path / "old.toml").read_bytes()
    assert "repeat = 2" in (tmp_path / "new.toml").read_text()
    both = _run([*args, "--blocks", 2, "--blocks-per-group", 3, "-o", tmp_path / "b.toml"])
    assert both.exit_code == 2 and "--blocks is the old name of --blocks-per-group" in both.stderr


def test_dictionary_help_calls_the_stable_activations_stable():
    """dictionary --help said every activation 'below the line' was not covered by the
    stability theorem; relu, leaky-relu, gelu and silu are stable (README: Stability)."""
    import json

    text = _help("dictionary")
    assert "does not cover" not in text
    entries = json.loads(_run(["dictionary", "--json"]).stdout)["entries"]
    stable = [e["family"] for e in entries if e["forms"] == ["activation"] and e["stable"]]
    said = re.search(r"(\S+(?:, \S+)* and \S+) are stable all the same", text).group(1)
    assert set(re.split(r", | and ", said)) == set(stable) == {"relu", "leaky-relu", "gelu", "silu"}


# A20b-12, A20b-13 -------------------------------------------------------------


def test_the_readme_starts_with_denoise_and_lists_every_command():
    """The README showed 'denoise', the newcomer's command, first at line 862; its
    commands table listed 4 of 8 commands; 'guarantees held' and 'sign stable' came
    unexplained 160 lines before their definition."""
    import click

    readme = (SAMPLES.parent / "README.md").read_text()
    commands = cli.list_commands(click.Context(cli))
    runs = re.findall(rf"^resdenoise ({'|'.join(commands)}) ", readme, re.MULTILINE)
    assert runs[0] == "denoise"  # the first command the README shows
    explained = readme.index("`guarantees held`: ")
    assert explained < readme.index("## One example per command")
    table = readme[readme.index("## The commands") : readme.index("**The scheme.**")]
    for name in commands:
        assert f"`{name}`" in table, name
    makefile = (SAMPLES.parent / "Makefile").read_text()
    assert "resdenoise denoise " in makefile[makefile.index("demo:") :].split("\n\n")[0]


def test_denoise_help_spells_out_sure():
    text = _help("denoise")
    assert "SURE (Stein's unbiased risk estimate" in text and "'guarantees held' (" in text


def test_six_channels_at_80_columns_keep_their_numbers_whole(tmp_path):
    """A20b-1's addendum: with six channels the 'measured per channel' table printed
    'mean drift' as '-3.55271' and 'e-15' on the next line, labels cut inside words."""
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    names = ["time", *(f"sensor_{i}_temperature" for i in range(6))]
    x = np.column_stack([np.arange(300), 20 + 0.3 * rng.standard_normal((300, 6))])
    src = tmp_path / "six.csv"
    np.savetxt(src, x, delimiter=",", header=",".join(names), comments="", fmt="%.4f")
    report = tmp_path / "r.json"
    args = ["diffuse", src, "--time", 2, "-v", "-o", tmp_path / "o.csv", "--report", report]
    result = _run(args, 80)
    assert result.exit_code == 0, result.output
    from resdenoise.cli.render import num

    words = set(re.findall(r"[^\s│┃,]+", result.stderr))
    for c in json.loads(report.read_text())["channels"]:
        for key in ("input_min", "input_max", "output_max", "tv_in", "tv_out", "mean_drift"):
            assert num(c[key]) in words, (key, num(c[key]), result.stderr)
    assert "  mean drift\n    column 2 ('sensor_0_temperature'): " in result.stderr


# A20b-18 ----------------------------------------------------------------------


@pytest.mark.parametrize("columns", [60, 80, 100])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_never_breaks_a_name_at_its_hyphen(command, columns):
    """'exponential (perona-' / 'malik)', '(refused unless --allow-' / 'unstable)'."""
    text = _run([command, "--help"], columns).stdout
    assert [line for line in text.splitlines() if re.search(r"\w-$", line)] == []


def test_the_group_help_fits_40_columns():
    """click's floor of 50 columns, a hand-laid exit-code block 84 wide, and commands
    cut with '...': at 40 columns every line wrapped again, mid-word."""
    text = _run(["--help"], 40).stdout
    assert max(map(len, text.splitlines())) <= 40, text
    assert "..." not in text.split("Commands:")[1]
    codes = text.split("Exit codes:")[1]
    assert re.search(r"^  3 +refused as unstable$", codes, re.MULTILINE), codes
    wide = " ".join(_run(["--help"], 200).stdout.split())
    assert (
        "denoise Everything automatic: family, scales, lambda and stopping time chosen by SURE."
        in wide
    )


# A20b-19 ----------------------------------------------------------------------


def test_verbose_under_term_dumb_says_the_warning_before_ascii_tables(tmp_path):
    """Under TERM=dumb the tables were drawn with Unicode boxes, and -v's warnings came
    after ~35 lines of tables (a screen reader heard them last)."""
    args = [
        "diffuse",
        SAMPLES / "steps.csv",
        "--time",
        3,
        "--tau",
        0.4,
        "-v",
        "-o",
        tmp_path / "o.csv",
    ]
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    text = result.stderr
    assert not re.search("[─-╿]", text), text
    lines = text.splitlines()
    assert lines[2].startswith("warning: tau = 0.375 is L-infinity stable"), lines[:4]
    assert lines[3] == f"resdenoise diffuse {SAMPLES / 'steps.csv'}" and lines[4].startswith("+--")


def test_a_batchs_tables_name_their_file(tmp_path):
    files = [SAMPLES / "steps.csv", SAMPLES / "two_channels.csv"]
    result = _run(["diffuse", *files, "--time", 3, "-v", "-o", f"{tmp_path}/"], 200)
    assert result.exit_code == 0, result.output
    for name in files:
        assert f"\nresdenoise diffuse {name}\n" in result.stderr


# A20b-20 ----------------------------------------------------------------------


def test_every_environment_variable_read_is_in_the_help():
    """Only RESDENOISE_SCHEDULER appeared in a --help; CI, NO_COLOR, COLUMNS,
    RESDENOISE_ENGINE, RESDENOISE_THREADS and RESDENOISE_TRACEBACK in none."""
    package = SAMPLES.parent / "resdenoise"
    read = set()
    for path in package.rglob("*.py"):
        read |= set(re.findall(r"environ(?:\.get)?[\[(]\s*\"([A-Z_]+)\"", path.read_text()))
    assert {"CI", "COLUMNS", "RESDENOISE_ENGINE", "RESDENOISE_TRACEBACK"} <= read
    text = _run(["--help"], 120).stdout
    section = text.split("Environment:")[1]
    assert [name for name in sorted(read | {"NO_COLOR"}) if name not in section] == []


# A20b-15 ----------------------------------------------------------------------


def test_a_batch_warning_names_its_file_once(tmp_path):
    """'warning: gapn.csv: gapn.csv: column 1 ('time') is not equally spaced ...'."""
    gap = tmp_path / "gap.csv"
    times = [*range(100), *range(150, 250)]
    gap.write_text("time,v\n" + "".join(f"{t},{(-1) ** t * 0.1 + t % 7}\n" for t in times))
    result = _run(["diffuse", SAMPLES / "steps.csv", gap, "--time", 3, "-o", f"{tmp_path}/out/"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warned and warned[0].startswith(f"warning: {gap}: column 1 ('time') is not equally")


# A20b-25 ----------------------------------------------------------------------


def test_denoise_residual_choice_says_its_linear_blocks(tmp_path):
    """'chose shrink garrote, scales of a linear diffusion's residual: garrote shrinkage,
    1 block of tau = 0.25 (T = 0.25)': the 16 linear diffusion blocks left unsaid."""
    import json

    report = tmp_path / "r.json"
    args = ["denoise", SAMPLES / "noisy_stereo.wav", "-o", tmp_path / "o.wav", "--report", report]
    result = _run(args)
    assert result.exit_code == 0, result.output
    linear = json.loads(report.read_text())["parameters"]["linear_blocks"]
    line = result.stderr.splitlines()[1]
    assert f", {linear} linear diffusion blocks (tau 1/4), then on their residual 1 block" in line


# A20b-21 ----------------------------------------------------------------------


def test_learn_warns_when_its_stop_is_worse_on_the_users_clean_data(tmp_path):
    """The default SURE stop wrote a network 8 % worse than its trained depth on the
    clean files the user gave, silently."""
    import json

    args = ["learn", SAMPLES / "steps.csv", "--clean", SAMPLES / "steps_clean.csv"]
    args += ["--blocks-per-group", 8, "--training-iterations", 10, "-o", tmp_path / "l.toml"]
    result = _run([*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    stopped, trained = report["loss_stopped_by_sure"], report["loss_at_trained_depth"]
    assert stopped > trained  # this training's stop is the worse (see the audit)
    said = [w for w in report["warnings"] if "than at its trained depth" in w]
    assert len(said) == 1 and "--stop auto writes the better of the two" in said[0]
    assert f"warning: {said[0]}" in result.stderr


# A20b-22 ----------------------------------------------------------------------


def test_shapes_are_said_in_samples_and_channels(tmp_path):
    """'the reference has shape (400, 2) (samples, channels) but steps.csv has (512,)'."""
    steps, two = SAMPLES / "steps.csv", SAMPLES / "two_channels.csv"
    run = _run(["diffuse", steps, "--time", 1, "--reference", two, "-o", tmp_path / "x.csv"])
    assert run.exit_code == 1
    assert (
        f"the reference has 400 samples x 2 channels but {steps} has 512 samples x 1 channel"
        in run.stderr
    )
    learn = _run(["learn", steps, "--clean", two, "-o", tmp_path / "x.toml"])
    assert learn.exit_code == 1
    assert (
        f"{two}: 400 samples x 2 channels, but its noisy file {steps} has 512 samples x 1 channel"
        in learn.stderr
    )


# A20b-17 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "formula, said",
    [
        ("r**", "'r**' is incomplete: an operand is missing after its last '**'"),
        ("r and 1", "character 1: operator 'and' 'r and 1' is not allowed; and/or/not"),
        ("r +* 2", "character 4: invalid syntax in 'r +* 2' (see"),
        ("r + foo", "character 5: name 'foo' is not allowed in 'r + foo'"),
    ],
)
def test_a_formula_error_says_where_once(formula, said):
    """'column 1: invalid syntax in 'r**' (invalid syntax)': a 'column' (of a CSV, in
    this program) that was a character, at the wrong place, and the text twice."""
    result = _run(["translate", "--activation-expr", formula])
    assert result.exit_code == 2 and said in result.stderr, result.stderr
    assert "column" not in result.stderr
