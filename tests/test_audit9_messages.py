"""Messages a new user's audit (audit9, items 8 and 10 to 15) found wrong: each error one
line naming the file (and line, key) and what is wrong, with a remedy that applies."""

from __future__ import annotations

import re
import shlex

import numpy as np
from test_audit_messages import _csv, _error

from resdenoise.cli import cli

# 11. regularise's too many steps names --alpha (it has no --time)


def test_regularise_too_many_steps_names_alpha(runner, tmp_path):
    src = _csv(tmp_path / "e.csv", [0, 0, 1, 1, 0])
    out = tmp_path / "o.csv"
    line = _error(runner.invoke(cli, ["regularise", str(src), "--alpha", "1e9", "-o", str(out)]), 2)
    assert line.startswith("Error: alpha 1000000000 at tau <= "), line
    assert re.search(r"give a smaller --alpha, at most [0-9.e+]+$", line), line
    assert "--time" not in line
    assert not out.exists()
    args = ["diffuse", str(src), "--time", "1e9", "-o", str(out)]
    line = _error(runner.invoke(cli, args), 2)
    assert line.endswith("give a smaller --time, at most 2.5e+07"), line


# 12. a PCM clipping refusal gives the subtype's real range (PCM_16 tops at 32767/32768)


def test_pcm_clipping_refusal_gives_the_real_upper_limit(runner, tmp_path):
    src = _csv(tmp_path / "pm.csv", np.where(np.arange(64) % 16 < 8, 1.0, -1.0))
    for subtype, top in (("PCM_16", "0.999969"), ("PCM_U8", "0.9922"), ("PCM_24", "0.99999988")):
        out = tmp_path / f"{subtype}.wav"
        args = ["diffuse", str(src), "--steps", "1", "--rate", "8000", "--subtype", subtype]
        line = _error(runner.invoke(cli, [*args, "-o", str(out)]), 1)
        assert f"outside the range of {subtype} (-1 to {top}) and would be clipped" in line, line
        assert not out.exists()


# 15. an option given without its value points to its command's help


def test_a_missing_option_value_points_to_the_commands_help(runner, tmp_path):
    src = str(_csv(tmp_path / "e.csv", [0, 0, 1, 1, 0]))
    for args, command in (
        (["diffuse", src, "--steps"], "diffuse"),
        (["shrink", src, "--threshold"], "shrink"),
        (["regularize", src, "--alpha"], "regularize"),
        (["translate", "--h"], "translate"),
    ):
        line = _error(runner.invoke(cli, args, prog_name="resdenoise"), 2)
        assert line == (
            f"Error: Option '{args[-1]}' requires an argument. (see 'resdenoise {command} --help')"
        ), line
    line = _error(
        runner.invoke(cli, ["difuse", src], prog_name="resdenoise"), 2
    )  # the group's own: its help
    assert line.endswith("(see 'resdenoise --help')"), line


# 13. network refusals name the file, the block and the line of the key at fault


def test_network_refusals_name_the_file_block_and_key(runner, tmp_path, rng):
    src = str(_csv(tmp_path / "f.csv", rng.standard_normal(64)))
    out = tmp_path / "o.csv"

    def refusal(text: str, code: int, *more: str) -> str:
        net = tmp_path / "n.toml"
        net.write_text(text)
        args = ["resnet", src, "--network", str(net), "-o", str(out), *more]
        line = _error(runner.invoke(cli, args), code)
        assert not out.exists()
        return line.replace(str(net), "n.toml")

    tanh = '[[block]]\nactivation = "tanh"\nrepeat = 2\n'
    line = refusal(tanh + "tau = 0.6\n", 3)  # the block's own tau: its line
    assert line.startswith("Error: refused as unstable: n.toml: block 1 (line 4) (tanh): tau = 0.6")
    line = refusal(tanh, 3, "--tau", "0.9")  # the command's tau: the block
    assert line.startswith("Error: refused as unstable: n.toml: block 1 (line 1) (tanh): tau = 0.9")
    unbounded = '[[block]]\nactivation-expr = "r*abs(r)"\nrepeat = 2\ntau = 0.1\n'
    line = refusal(unbounded, 3)  # no tau is stable: the function's line
    assert line.startswith("Error: refused as unstable: n.toml: block 1 (line 2) (r*abs(r)): ")
    tiny = '[[block]]\nactivation = "bumps"\ncoefficients = [1e-320, 1e-320]\nrepeat = 2\n'
    line = refusal(tiny, 2)
    assert line.startswith("Error: n.toml: block 1 (line 3): the stable step h^2/(4 g_max) = inf")


# 14. a column of text gets the columns to filter, not "delete line 2"


def test_a_text_column_gets_the_columns_to_filter(runner, tmp_path):
    out = str(tmp_path / "o.csv")
    text = tmp_path / "mid.csv"
    text.write_text("a,label,b\n1,x,2\n2,y,3\n3,z,1\n4,w,2\n")
    for more in ([], ["--chunk-size", "2"]):  # whole and streamed
        line = _error(
            runner.invoke(cli, ["diffuse", str(text), "--steps", "1", "-o", out, *more]), 1
        )
        assert line == (
            f"Error: {text}: line 2, column 2 ('label'): 'x' is not a number; the column holds "
            "no numbers: name the columns to filter with --columns a,b"
        ), line
    typo = tmp_path / "typo.csv"  # a number further down: a typo on line 2
    typo.write_text("a,label,b\n1,x,2\n2,3,3\n3,z,1\n4,w,2\n")
    line = _error(runner.invoke(cli, ["diffuse", str(typo), "--steps", "1", "-o", out]), 1)
    assert line.endswith("'x' is not a number; correct it or delete line 2"), line
    plain = tmp_path / "plain.csv"  # no header, a time column: by number, the time left out
    plain.write_text("1,x,2\n2,y,3\n3,z,1\n4,w,2\n")
    args = ["diffuse", str(plain), "--steps", "1", "--no-header", "-o", out]
    assert _error(runner.invoke(cli, args), 1).endswith("with --columns 3")
    result = runner.invoke(
        cli, ["diffuse", str(text), "--steps", "1", "--columns", "a,b", "-o", out]
    )
    assert result.exit_code == 0, result.stderr  # the hint works


def test_the_text_column_hint_keeps_a_column_with_a_typo_and_quotes_names(runner, tmp_path):
    """A column of numbers with one typo is no text column: the hint names it (before:
    '--columns a', b left unfiltered, its typo hidden), and following the hint says the
    typo.  Names with spaces are quoted so that the value pastes into a shell."""
    out = str(tmp_path / "o.csv")
    typo = tmp_path / "t.csv"
    typo.write_text("time,a,txt,b\n0,1.0,x,2.0\n1,1.5,x,2.5\n2,1.2,x,zz\n3,1.1,x,2.2\n")
    line = _error(runner.invoke(cli, ["diffuse", str(typo), "--steps", "1", "-o", out]), 1)
    assert line.endswith(
        "'x' is not a number; the column holds no numbers: name the columns "
        "to filter with --columns a,b"
    ), line
    args = ["diffuse", str(typo), "--steps", "1", "--columns", "a,b", "-o", out]
    assert _error(runner.invoke(cli, args), 1).endswith(
        "line 4, column 4 ('b'): 'zz' is not a number; correct it, or, a missing "
        "reading: fill it in (interpolate it between its neighbours), or filter the rows "
        "before and after line 4 apart, as two files (deleting line 4 leaves a gap in the "
        "time column)"
    )
    spaced = tmp_path / "sp.csv"
    spaced.write_text("speed x,load y,note\n1.0,2.0,x\n1.5,2.5,x\n1.2,2.1,x\n")
    line = _error(runner.invoke(cli, ["diffuse", str(spaced), "--steps", "1", "-o", out]), 1)
    assert line.endswith("with --columns 'speed x,load y'"), line
    result = runner.invoke(
        cli,
        ["diffuse", str(spaced), "--steps", "1", *shlex.split(line.split("with ")[-1]), "-o", out],
    )
    assert result.exit_code == 0, result.stderr  # the hint as a shell splits it works


# 8. decimal commas in a comma-separated file: said to be unsupported, not a dead-end hint


def test_decimal_commas_between_commas_are_said_unsupported(runner, tmp_path):
    src = tmp_path / "qd.csv"
    src.write_text('a,b\n"1,5","2,5"\n"2,5","3,5"\n"3,5","1,0"\n"1,0","2,0"\n')
    out = str(tmp_path / "o.csv")
    unsupported = (
        "which is not supported: write the file with ';' or tab between the columns, or with "
        "decimal points"
    )
    for more, code in (
        ([], 1),
        (["--decimal", ","], 1),
        (["--decimal", ",", "--delimiter", ","], 2),
    ):
        line = _error(
            runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", out, *more]), code
        )
        assert "--decimal ," not in line and unsupported in line, line
    first = _error(runner.invoke(cli, ["diffuse", str(src), "--steps", "1", "-o", out]), 1)
    assert first.startswith(
        f"Error: {src}: line 2, column 1 ('a'): '1,5' is not a number (a decimal"
    )
    one = tmp_path / "one.csv"  # one column: no comma between cells, the hint is given
    one.write_text('a\n"1,5"\n"2,5"\n"3,5"\n')
    line = _error(runner.invoke(cli, ["diffuse", str(one), "--steps", "1", "-o", out]), 1)
    assert "(a decimal comma? declare it with --decimal ,)" in line, line


# 10. a plan that needs the samples of a file read in chunks names what needs them and why
# the file is read in chunks, with remedies that apply


def test_whole_signal_refusals_name_the_cause_and_a_remedy(runner, tmp_path, rng, monkeypatch):
    import zarr

    from resdenoise import stream_choice

    x = np.sign(np.sin(np.arange(600) / 50)) + 0.1 * rng.standard_normal(600)
    src = str(_csv(tmp_path / "f.csv", x))
    out = str(tmp_path / "o.csv")
    net = tmp_path / "stop.toml"
    net.write_text('stop = "sure"\n[[block]]\nactivation = "tanh"\nrepeat = 4\n')
    store = str(tmp_path / "s.zarr")
    zarr.open(store, mode="w", shape=(600,), chunks=(128,), dtype="f8")[:] = x
    chunked = "needs the whole signal in memory, but a chunk size is given (--chunk-size 50); "
    whole = "pass --chunk-size 0 to load it whole"
    time_auto = (  # denoise's fix, and its cost (fix20e, audit20b-23)
        "filter it with diffuse and --time auto (one family's search, about 65 bytes a "
        "sample, for a file up to 64 MiB), or "
    )
    cases = [
        (
            ["shrink", src, "--scales", "2", "--iterations", "3", "--threshold", "0.1"],
            f"{src}: filtering at several scales (--scales 2) {chunked}{whole}",
        ),
        (["denoise", src], f"{src}: choosing the filter by SURE {chunked}{time_auto}{whole}"),
        (
            ["resnet", src, "--network", str(net)],
            f'{src}: {net}\'s stop = "sure" (the depth chosen by SURE) {chunked}drop stop '
            f"from {net} to run every block, or {whole}",
        ),
        (
            ["shrink", src, "--iterations", "auto"],
            f"{src}: --iterations auto (a stopping rule's choice) {chunked}give --iterations "
            f"as a number, or {whole}",
        ),
    ]
    for args, message in cases:
        line = _error(runner.invoke(cli, [*args, "--chunk-size", "50", "-o", out]), 2)
        assert line == f"Error: {message}", line
    assert (
        runner.invoke(
            cli, ["diffuse", store, "--time", "auto", "--chunk-size", "0", "-o", out]
        ).exit_code
        == 0
    )
    monkeypatch.setattr(stream_choice, "STREAM_THRESHOLD", 100)  # a large file
    monkeypatch.setattr(stream_choice, "WHOLE_SIGNAL_LIMIT", 1000)
    line = _error(runner.invoke(cli, ["diffuse", store, "--time", "auto", "-o", out]), 2)
    assert line == (
        f"Error: {store}: --time auto (a stopping rule's choice) needs the whole signal in "
        f"memory, but the store's array is larger than {1000 / 2**20:g} MiB, which is read "
        f"in chunks; give --time as a number, or {whole} anyway"
    ), line
    line = _error(runner.invoke(cli, ["denoise", src, "-o", out]), 2)
    assert line == (
        f"Error: {src}: choosing the filter by SURE needs the whole signal in memory, but the "
        f"file is larger than {1000 / 2**20:g} MiB, which is read in chunks; {time_auto}"
        f"{whole} anyway (about 400 bytes of memory a sample)"
    ), line
