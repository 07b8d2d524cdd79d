"""audit20a's findings (a researcher comparing resdenoise with her NumPy/SciPy/MATLAB code).

A20a-5: a time (or alpha) that is a whole number of steps in decimal ran one block more
where T/tau rounds up in binary (1.05/0.15 is 7.000000000000001): 8 blocks of 0.13125, not
7 of 0.15.  Checked against an explicit loop written here.

A20a-1: a WAVE_FORMAT_EXTENSIBLE input's channel mask (which speaker each channel feeds) was
not kept: libsndfile writes its default for the channel count (5.1 with side surrounds came
out with back ones, a microphone array's 0 as quad).

A20a-6: a row vector in a CSV file (one line of N values: MATLAB's writematrix of a row)
was told it held 1 sample, "nothing to filter, leave this file out"; it is refused as one
signal per row, to be transposed.

A20a-3: linear diffusion (g = 1, no lambda) was refused for a signal of subnormal range: its
automatic lambda, which it never uses, was computed and found outside float64's steps.

A20a-2: a big-endian float32 array ('>f4': np.fromfile, FITS) ran and came back float64,
native float32 float32.

A20a-7: int64 samples beyond 2**53 were rounded to float64 by the library without a word
(the command line warns of such a CSV cell).

A20a-12: the library's warnings were plain UserWarning: no category to filter them by.

A20a-13: every report said version 0.1.0, whichever commit made it.
"""

from __future__ import annotations

import math
import struct
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

import resdenoise as rd
from resdenoise.cli import cli
from resdenoise.engine import run_blocks
from resdenoise.filters import plan_diffuse
from resdenoise.nonlinearities import get_nonlinearity


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def explicit_loop(f: np.ndarray, phi, tau: float, m: int, h: float = 1.0) -> np.ndarray:
    """m blocks u_i += tau/h (Phi(d_i) - Phi(d_i-1)), d_i = (u_i+1 - u_i)/h, zero-flux ends."""
    u = np.array(f, dtype=np.float64)
    for _ in range(m):
        flux = np.concatenate([[0.0], phi(np.diff(u) / h), [0.0]])
        u = u + tau / h * np.diff(flux)
    return u


def charbonnier(lam):
    return lambda r: r / np.sqrt(1.0 + r * r / (lam * lam))


def huber(lam):  # the Huber regulariser's flux Psi'/2: clip(r, -lam, lam)
    return lambda r: np.clip(r, -lam, lam)


# A20a-5 -----------------------------------------------------------------------


@pytest.fixture
def signal():
    return np.random.default_rng(3).standard_normal(300)


def test_a_time_of_seven_given_steps_runs_seven(signal):
    """--time 1.05 --tau 0.15: 7 blocks of 0.15 (1.05/0.15 = 7.000000000000001 in binary)."""
    out = rd.diffuse(signal, "charbonnier", lam=0.3, time=1.05, tau=0.15)
    want = explicit_loop(signal, charbonnier(0.3), 0.15, 7)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-13)


def test_a_time_of_three_default_steps_runs_three(signal):
    """h = 0.3: the default tau is 0.0225, and 0.0675 is 3 of them (0.0675/3 is an ulp above)."""
    out = rd.diffuse(signal, "charbonnier", lam=0.3, time=0.0675, h=0.3)
    want = explicit_loop(signal, charbonnier(0.3), 0.0225, 3, h=0.3)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)


def test_an_alpha_of_three_default_steps_runs_three(signal):
    out = rd.regularise(signal, "huber", lam=0.3, alpha=0.0675, h=0.3)
    want = explicit_loop(signal, huber(0.3), 0.0225, 3, h=0.3)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tau", ["0.15", "0.3", "0.1", "0.07", "0.0225", "0.245"])
def test_k_steps_of_a_decimal_tau_are_k_blocks(tau):
    """T = k * tau written in decimal is k blocks, for every k up to 300."""
    nl = get_nonlinearity("charbonnier", "diffusivity", 0.3)
    wrong = [
        (k, plan_diffuse(nl, time=float(k * Decimal(tau)), tau=float(tau)).steps)
        for k in range(1, 301)
    ]
    assert [(k, m) for k, m in wrong if m != k] == []


def test_the_summary_says_seven_blocks_and_no_smaller_step(tmp_path, signal):
    path = tmp_path / "reg.csv"
    np.savetxt(path, signal, fmt="%.17g")
    r = _invoke(
        "diffuse", path, "--diffusivity", "charbonnier", "--lambda", "0.3",
        "--time", "0.0675", "--tau", "0.0225", "-o", tmp_path / "o.csv",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "3 blocks of tau = 0.0225 (T = 0.0675)," in r.output
    assert "largest step" not in r.output
    r = _invoke(
        "diffuse", path, "--diffusivity", "charbonnier", "--lambda", "0.3",
        "--time", "1", "--tau", "0.3", "-o", tmp_path / "o.csv",
    )  # fmt: skip
    assert "4 blocks of tau = 0.25 (T = 1; --tau 0.3 is the largest step)" in r.output


# A20a-1 -----------------------------------------------------------------------


def _fmt_at(data: bytes) -> int:
    i = data.find(b"fmt ")
    assert i >= 12 and struct.unpack("<H", data[i + 8 : i + 10])[0] == 0xFFFE
    return i


def wavex(path, channels: int, subtype: str, mask: int) -> None:
    """A WAVEX file whose dwChannelMask (bytes 20-23 of the fmt chunk's body) is ``mask``."""
    x = 0.3 * np.random.default_rng(channels).standard_normal((2000, channels))
    soundfile.write(path, x, 48000, subtype=subtype, format="WAVEX")
    data = bytearray(path.read_bytes())
    i = _fmt_at(data)
    data[i + 28 : i + 32] = struct.pack("<I", mask)
    path.write_bytes(bytes(data))


def mask_of(data: bytes) -> int:
    i = _fmt_at(data)
    return struct.unpack("<I", data[i + 28 : i + 32])[0]


@pytest.mark.parametrize(
    ("channels", "subtype", "mask"),
    [(6, "PCM_24", 0x60F), (6, "FLOAT", 0x60F), (4, "PCM_16", 0), (2, "PCM_16", 0x600)],
)
@pytest.mark.parametrize("chunk", [None, "500"])
def test_a_wavex_output_keeps_the_inputs_channel_mask(tmp_path, channels, subtype, mask, chunk):
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    wavex(src, channels, subtype, mask)
    more = () if chunk is None else ("--chunk-size", chunk)
    r = _invoke("diffuse", src, "--lambda", "0.05", "--steps", "2", "-q", *more, "-o", out)
    assert r.exit_code == 0, r.output
    assert mask_of(out.read_bytes()) == mask
    info = soundfile.info(str(out))
    assert (info.format, info.subtype, info.channels) == ("WAVEX", subtype, channels)


def test_a_wavex_output_on_stdout_keeps_the_mask(tmp_path):
    src = tmp_path / "in.wav"
    wavex(src, 6, "PCM_24", 0x60F)
    r = CliRunner().invoke(
        cli, ["diffuse", str(src), "--lambda", "0.05", "--steps", "2", "-q", "-o", "-"]
    )
    assert r.exit_code == 0, r.output
    assert mask_of(r.stdout_bytes) == 0x60F


# A20a-6 -----------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [[], ["--chunk-size", "2"]])
@pytest.mark.parametrize("width", [1000, 2])
def test_a_row_vector_is_told_to_transpose(tmp_path, chunk, width):
    src = tmp_path / "row.csv"
    row = np.random.default_rng(1).standard_normal(width)
    src.write_text(",".join(repr(float(v)) for v in row) + "\n")
    r = CliRunner().invoke(
        cli, ["diffuse", str(src), "--time", "1", "-o", str(tmp_path / "o.csv"), *chunk]
    )
    assert r.exit_code == 1
    assert r.stderr == (
        f"Error: {src}: 1 row of {width} columns: a signal runs down its columns, so this looks "
        "like one signal per row; transpose the file (one column per signal; MATLAB: "
        "writematrix(x(:), name), NumPy: np.savetxt(name, x.ravel()))\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["row.csv"]
    np.savetxt(src, row.ravel())  # as told: a column
    r = CliRunner().invoke(cli, ["diffuse", str(src), "--time", "1", "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 0, r.stderr

    src.write_text("5\n")  # one value: still too short, whatever its shape
    r = CliRunner().invoke(cli, ["diffuse", str(src), "--time", "1", "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 1
    assert "1 data row; a signal needs at least 2 samples" in r.stderr


# A20a-3 -----------------------------------------------------------------------

SUBNORMAL = [5e-324, 1e-323, 0.0, 2e-323, 5e-324]


@pytest.mark.parametrize("form", ["diffusivity", "activation"])
def test_linear_diffusion_of_subnormal_samples_runs(form):
    from resdenoise.filters import bind_nonlinearity

    nl, extra = bind_nonlinearity("linear", form, None, np.array(SUBNORMAL))
    assert extra == {"lambda_rule": "not used (linear)"}
    out = rd.diffuse(SUBNORMAL, "linear", steps=1)
    _one_subnormal_apart(out)


def _one_subnormal_apart(out):
    """``out`` is one linear block of SUBNORMAL (tau = 1/4) up to one unit (5e-324) a sample,
    the rounding of a product in the order of its operations; its sum is the input's."""
    want = explicit_loop(np.array(SUBNORMAL), lambda r: r, 0.25, 1)
    np.testing.assert_allclose(out, want, rtol=0, atol=5e-324)
    assert math.fsum(out) == math.fsum(SUBNORMAL)


def test_linear_diffusion_of_subnormal_samples_runs_on_the_command_line(tmp_path):
    src = tmp_path / "subn.csv"
    src.write_text("".join(f"{v!r}\n" for v in SUBNORMAL))
    out = tmp_path / "o.csv"
    r = _invoke("diffuse", src, "--diffusivity", "linear", "--steps", "1", "-o", out)
    assert r.exit_code == 0, r.output
    _one_subnormal_apart(np.loadtxt(out))
    assert "lambda not used (g = 1)" in r.output
    r = _invoke("shrink", src, "--shrinkage", "linear", "-o", out)
    assert r.exit_code == 0, r.output


# A20a-2 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        lambda f: rd.diffuse(f, "perona-malik", lam=0.2, steps=5),
        lambda f: rd.regularise(f, "huber", lam=0.2, alpha=1.0),
        lambda f: rd.shrink(f, "soft", theta=0.1),
        lambda f: rd.resnet(f, "perona-malik", lam=0.2, blocks=3),
        lambda f: run_blocks(f, get_nonlinearity("perona-malik", "diffusivity", 0.2).phi, 0.25, 5),
    ],
)
def test_a_big_endian_float32_signal_runs_in_float32(run):
    f = np.random.default_rng(0).standard_normal((1000, 2))
    native, big = run(f.astype("<f4")), run(f.astype(">f4"))
    assert (native.dtype, big.dtype) == (np.float32, np.float32)
    assert big.tobytes() == native.tobytes()
    assert run(f.astype(">f8")).tobytes() == run(f).tobytes()


# A20a-12 ----------------------------------------------------------------------


def _above_the_sign_bound():
    rd.diffuse(
        np.random.default_rng(0).standard_normal(200), "charbonnier", lam=1.0, steps=3, tau=0.4
    )


def _channels_far_apart():
    rng = np.random.default_rng(4)
    s = np.sign(np.sin(9 * np.linspace(0, 1, 4000)))
    x = np.stack([s + 0.01 * rng.standard_normal(4000), 10 * s + 2 * rng.standard_normal(4000)], 1)
    rd.diffuse(x, steps=10)


def _scales_beyond_the_signal():
    from resdenoise.multiscale import choose_cascade

    choose_cascade(np.random.default_rng(1).standard_normal(64), "soft", scales=8)


@pytest.mark.parametrize(
    "call", [_above_the_sign_bound, _channels_far_apart, _scales_beyond_the_signal]
)
def test_the_librarys_warnings_are_its_own_category(call):
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    assert seen and all(issubclass(w.category, rd.ResdenoiseWarning) for w in seen), seen
    assert issubclass(rd.ResdenoiseWarning, UserWarning)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=rd.ResdenoiseWarning)
        call()
    assert seen == []


# A20a-7 -----------------------------------------------------------------------

BIG = [2**53 + 1, 2**53 + 3, 2**53 + 1, 2**53 + 7, 2**53 + 5] * 3


@pytest.mark.parametrize(
    ("given", "where", "told", "held"),
    [
        (np.array(BIG, dtype=np.int64), "sample 1", 2**53 + 1, 2.0**53),
        (np.array(BIG, dtype=np.uint64), "sample 1", 2**53 + 1, 2.0**53),
        ([2**53, 2**53 + 2, 2**64 + 1, 3], "sample 3", 2**64 + 1, 2.0**64),
        (np.stack([np.full(15, 4), BIG], 1), "sample 1, channel 2", 2**53 + 1, 2.0**53),
    ],
)
def test_integers_beyond_2_53_are_warned_of(given, where, told, held):
    with pytest.warns(rd.ResdenoiseWarning) as seen:
        rd.diffuse(given, "linear", steps=1)
    assert [str(w.message) for w in seen] == [
        f"the signal: {where}: {told} is not exactly a float64 number (an integer beyond "
        f"2**53); it is filtered as {held!r}"
    ]
    assert float(told) == held and int(held) != told  # (the premise: float64 rounds it so)
    import warnings

    with warnings.catch_warnings():  # integers float64 holds: no word
        warnings.simplefilter("error")
        rd.diffuse(np.array(BIG, dtype=np.int64) - 2**53, "linear", steps=1)
        rd.diffuse(np.array([2**53, 2**54, -(2**60), 0], dtype=np.int64), "linear", steps=1)


# A20a-13 ----------------------------------------------------------------------

C1, C2 = "1" * 40, "ab" * 20


def _repo(root, head: str, refs: dict, packed: dict | None = None):
    git = root / ".git"
    git.mkdir(parents=True)
    (git / "HEAD").write_text(head + "\n")
    for name, commit in refs.items():
        (git / name).parent.mkdir(parents=True, exist_ok=True)
        (git / name).write_text(commit + "\n")
    if packed:
        lines = ["# pack-refs with: peeled fully-peeled sorted"]
        lines += [f"{commit} {name}" for name, commit in packed.items()]
        (git / "packed-refs").write_text("\n".join(lines) + "\n")
    return git


def test_the_commit_is_read_from_a_checkout(tmp_path):
    from resdenoise._revision import git_commit

    _repo(tmp_path / "a", "ref: refs/heads/main", {"refs/heads/main": C1})
    assert git_commit(str(tmp_path / "a")) == C1
    _repo(
        tmp_path / "b", "ref: refs/heads/main", {}, {"refs/heads/other": C1, "refs/heads/main": C2}
    )
    assert git_commit(str(tmp_path / "b")) == C2
    _repo(tmp_path / "c", C2, {})  # detached
    assert git_commit(str(tmp_path / "c")) == C2
    # a worktree: .git a file naming its gitdir, whose commondir holds the branches
    main = _repo(tmp_path / "main", "ref: refs/heads/main", {"refs/heads/wt": C2})
    gitdir = main / "worktrees" / "wt"
    gitdir.mkdir(parents=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/wt\n")
    (gitdir / "commondir").write_text("../..\n")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {gitdir}\n")
    assert git_commit(str(tmp_path / "wt")) == C2
    _repo(tmp_path / "d", "ref: refs/heads/gone", {})
    assert git_commit(str(tmp_path / "d")) is None
    assert git_commit(str(tmp_path / "none")) is None


def test_the_version_names_the_commit(tmp_path):
    import runpy
    import shutil
    import subprocess

    from resdenoise import __version__
    from resdenoise._revision import RELEASE
    from resdenoise._revision import __file__ as revision

    root = Path(revision).parent.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert __version__ == f"{RELEASE}+g{head[:12]}"
    r = _invoke("--version")
    assert r.output.splitlines()[0] == f"resdenoise, version {RELEASE}+g{head[:12]}"
    # an install that is no checkout: the COMMIT file setup.py wrote into it
    package = tmp_path / "site" / "resdenoise"
    package.mkdir(parents=True)
    shutil.copy(revision, package / "_revision.py")
    assert runpy.run_path(str(package / "_revision.py"))["version"]() == RELEASE
    (package / "COMMIT").write_text(C2 + "\n")
    assert runpy.run_path(str(package / "_revision.py"))["version"]() == f"{RELEASE}+g{C2[:12]}"
