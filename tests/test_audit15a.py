"""The findings of the operations audit 15a (Makefile, shell and CI use), each a test
that failed on the code before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from resdenoise.errors import SignalError
from resdenoise.io import SignalWriter, read_signal, write_files_atomic

posix = pytest.mark.skipif(os.name != "posix", reason="needs RLIMIT_FSIZE and SIGXFSZ")


def _file_size_limit(limit: int):
    """A file-size limit of ``limit`` bytes for a child process, SIGXFSZ ignored (as
    Python ignores it): a write above it fails with EFBIG, as a full disk's does with
    ENOSPC, and neither needs a disk to fill."""

    def apply():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return apply


#: Writes argv[1] to argv[2] as SignalWriter does; a SignalError: its line, exit 1.
_WRITE = (
    "import sys; from resdenoise.io import SignalWriter, read_signal, write_files_atomic\n"
    "from resdenoise.errors import SignalError\n"
    "t = read_signal(sys.argv[1])\n"
    "try:\n"
    "    with SignalWriter(sys.argv[2], t) as w:\n"
    "        w.write(t.data, {}); write_files_atomic([w])\n"
    "except SignalError as e:\n"
    "    sys.exit(str(e))\n"
)


def _write_limited(src, out, limit: int) -> subprocess.CompletedProcess:
    """Write ``src`` to ``out`` in a child process whose files may hold ``limit`` bytes."""
    return subprocess.run(
        [sys.executable, "-c", _WRITE, str(src), str(out)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_file_size_limit(limit),
    )


@pytest.fixture
def pcm(tmp_path, rng):
    """A 3000-frame PCM_16 stereo WAV: shorter than a FLAC block, so that libsndfile
    encodes all of it when the file is closed."""
    src = tmp_path / "in.wav"
    soundfile.write(src, rng.standard_normal((3000, 2)) * 0.1, 8000, subtype="PCM_16")
    return src


def _write(template, out) -> None:
    with SignalWriter(out, template) as writer:
        writer.write(template.data, {})
        write_files_atomic([writer])


# A1, A8: an encoder's last bytes (written at the close) lost on a full disk
# ---------------------------------------------------------------------------


@posix
@pytest.mark.parametrize("ext", ["flac", "ogg", "opus"])
def test_a1_an_output_cut_at_its_close_is_an_error_not_a_short_file(pcm, tmp_path, ext):
    """Before: libsndfile wrote FLAC's last frames (OGG's last pages) when the file was
    closed and dropped the failed write: a FLAC file cut at 8 KiB (unreadable), an OGG
    with no frames, exit 0 and 'guarantees held'.  Here the last byte does not fit."""
    template = read_signal(pcm)
    whole = tmp_path / f"whole.{ext}"
    _write(template, whole)
    size = whole.stat().st_size
    out = tmp_path / f"cut.{ext}"
    done = _write_limited(pcm, out, size - 1)
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"{out}: cannot write: File too large (above the file size limit: see ulimit -f)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", whole.name]


def test_a1_a_failed_write_inside_libsndfile_is_kept_and_raised(pcm, tmp_path, monkeypatch):
    """The writes of an encoder go through a CheckedFile: a write that fails there (a
    full disk) is raised before the rename, with the system's reason and what to do."""
    import errno

    from resdenoise.io import checked

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checked.os, "write", full)
    out = tmp_path / "x.flac"
    with pytest.raises(SignalError) as caught:
        _write(read_signal(pcm), out)
    assert str(caught.value) == (
        f"{out}: cannot write: No space left on device (the disk is full; free some space, "
        "or write elsewhere)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


@posix
def test_a8_in_place_on_a_full_disk_keeps_the_recording(pcm, tmp_path):
    """Before: ``--in-place`` on a FLAC file whose new version did not fit replaced the
    recording with a cut, unreadable file, exit 0.  Now: exit 1, one line, untouched."""
    rec = tmp_path / "rec.flac"
    soundfile.write(rec, soundfile.read(pcm)[0], 8000, subtype="PCM_16")
    before = rec.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", str(rec), "--in-place"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_file_size_limit(2048),  # a FLAC header and little more
        env={**os.environ, "RESDENOISE_TRACEBACK": "0"},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"Error: {rec}: cannot write: File too large (above the file size limit: see ulimit -f)"
    )
    assert rec.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "rec.flac"]


# A3: a file-size limit (ulimit -f) ended the whole run as a signal would
# -----------------------------------------------------------------------


@posix
def test_a3_a_file_size_limit_fails_the_file_not_the_batch(tmp_path, rng):
    """Before: SIGXFSZ was handled as an interruption: 'Error: interrupted by SIGXFSZ; no
    output written', exit 153, no file named, and a batch stopped (0 of the files that
    fit written).  Now the write fails (EFBIG): that file is named, the others written."""
    (tmp_path / "in").mkdir()
    big, small = tmp_path / "in" / "big.wav", tmp_path / "in" / "small.wav"
    noise = (0.1 * rng.standard_normal((200_000, 2))).astype(np.float32)
    soundfile.write(big, noise, 16000, subtype="FLOAT")  # 1.6 MB: above the limit
    soundfile.write(small, noise[:2000], 16000, subtype="FLOAT")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2"]
        + [str(big), str(small), "-o", f"{out}/", "-q"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_file_size_limit(1 << 20),
        env={**os.environ, "RESDENOISE_TRACEBACK": "0"},
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"Error: {big}: {out}/big.wav: cannot write: File too large (above the file size "
        "limit: see ulimit -f)\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["small.wav"]


# A6: -o /dev/stdout, --report /dev/stderr reopened the name and truncated a >> file
# ----------------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/fd/1"), reason="needs /dev/fd")
@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_a6_an_output_to_a_name_of_stdout_appends_to_a_log(noisy_csv, tmp_path, name):
    """Before: ``{ echo step1; resdenoise ... -o /dev/stdout; } >> log`` reopened the
    name with O_TRUNC: the log's earlier lines were lost.  Now written through stdout's
    own descriptor, as ``-o -`` is: after what the log held."""
    if name.startswith("/proc/") and not os.path.exists(name):
        pytest.skip("needs /proc")
    log = tmp_path / "log"
    log.write_text("EARLIER\n")
    with open(log, "a") as out:
        done = subprocess.run(
            [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", str(noisy_csv)]
            + ["-o", name, "-q"],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    alone = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", str(noisy_csv)]
        + ["-o", "-", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log.read_text() == "EARLIER\n" + alone


@pytest.mark.skipif(not os.path.exists("/dev/fd/2"), reason="needs /dev/fd")
@pytest.mark.parametrize("name", ["/dev/stderr", "/dev/fd/2"])
def test_a6_a_report_to_a_name_of_stderr_appends_to_the_job_log(noisy_csv, tmp_path, name):
    """Before: ``--report /dev/stderr`` with stderr a CI log opened with ``2>>`` truncated
    the log and wrote the report at offset 0.  Now it follows what the log held."""
    log = tmp_path / "log"
    log.write_text("EARLIER\n")
    with open(log, "a") as err:
        done = subprocess.run(
            [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", str(noisy_csv)]
            + ["-o", str(tmp_path / "x.csv"), "-q", "--report", name],
            stderr=err,
        )
    assert done.returncode == 0
    text = log.read_text()
    assert text.startswith("EARLIER\n{")
    assert json.loads(text[len("EARLIER\n") :])["input"] == str(noisy_csv)


# A2: no room for even the header: 'cannot encode as WAV/PCM_16: System error.'
# ---------------------------------------------------------------------------


@posix
@pytest.mark.parametrize("ext", ["wav", "aiff", "flac"])
def test_a2_no_room_for_the_header_says_why(pcm, tmp_path, ext):
    """Before: libsndfile's open failed with 'System error.' (FLAC: 'problem with
    initialization of the flac decoder'), shown as 'cannot encode as WAV/PCM_16', which
    blames the format.  Now the system's reason, as for every other failed write."""
    out = tmp_path / f"x.{ext}"
    done = _write_limited(pcm, out, 16)
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"{out}: cannot write: File too large (above the file size limit: see ulimit -f)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


# A4: Ctrl-C while the package itself is imported printed a traceback
# -------------------------------------------------------------------

_SCRIPT = """
import builtins, os, signal, sys
real = builtins.__import__
def hooked(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "importlib" and (globals or {}).get("__name__") == "resdenoise":
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the package imports its modules
    return real(name, globals, locals, fromlist, level)
builtins.__import__ = hooked
from resdenoise.__main__ import main
sys.exit(main())
"""


def _default_sigint() -> None:
    """The child starts with Ctrl-C's default disposition, as from a terminal: a test run
    started in the background by a shell without job control (``make test &``) ignores
    SIGINT, its children inherit that, and a program that starts with SIGINT ignored keeps
    it ignored (no handler of ours, nor Python's KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@posix
def test_a4_ctrl_c_while_the_package_is_imported_is_the_one_line(tmp_path):
    """Before: the console script imports the package (its ``__init__``: importlib,
    typing, .errors) before ``main`` installs the start-up handler; a Ctrl-C there was
    a 12-line traceback ending in KeyboardInterrupt.  Now the handler is the package's
    first step where the process is the program (here its script, named resdenoise)."""
    script = tmp_path / "resdenoise"
    script.write_text(_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), "--version"],
        capture_output=True,
        text=True,
        preexec_fn=_default_sigint,
    )
    assert (done.returncode, done.stderr) == (
        130,
        "Error: interrupted by SIGINT; no output written\n",
    )


def test_a4_a_program_importing_the_library_keeps_its_ctrl_c(tmp_path):
    """The handler is the program's only: a Python program that imports resdenoise
    keeps Python's KeyboardInterrupt."""
    done = subprocess.run(
        [sys.executable, "-c", "import signal, resdenoise; print(signal.getsignal(2).__name__)"],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=_default_sigint if os.name == "posix" else None,
    )
    assert done.stdout == "default_int_handler\n"


# A7: a byte of a name that is not UTF-8 was shown as \udce9 (Python's stand-in)
# -----------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses names that are not UTF-8")
def test_a7_a_name_that_is_not_utf8_shows_its_byte_as_the_report_does(noisy_csv, tmp_path):
    """Before: 'lat\\udce9.csv -> o\\udce9.csv: guarantees held' on stderr while the JSON
    report said 'lat\\xe9.csv' (README's spelling): now '\\xe9' in both."""
    src = os.path.join(os.fsencode(tmp_path), b"lat\xe9.csv")
    with open(noisy_csv, "rb") as given, open(src, "wb") as copy:
        copy.write(given.read())
    done = subprocess.run(
        [sys.executable, "-m", "resdenoise", "diffuse", "--time", "2", b"lat\xe9.csv"]
        + ["-o", b"o\xe9.csv", "--report", "r.json"],
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == b"lat\\xe9.csv -> o\\xe9.csv: guarantees held"
    assert json.loads((tmp_path / "r.json").read_text())["input"] == "lat\\xe9.csv"


# A9: --network - looked for a file named "-"
# -------------------------------------------


def test_a9_network_dash_is_a_usage_error_that_says_so(runner, noisy_csv, tmp_path):
    """Before: 'Error: -: cannot read the network file: No such file or directory', exit
    1, about a file the user never named (INPUT and --reference take '-' as stdin)."""
    from resdenoise.cli import cli

    out = tmp_path / "o.csv"
    result = runner.invoke(cli, ["resnet", "--network", "-", str(noisy_csv), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "--network takes the network file's name; '-' (stdin) is not read for it" in (
        result.stderr
    )
    assert not out.exists()


# A11: '-- -dash.csv -o o.csv': 'several INPUTs need -o DIR/', though -o was given
# --------------------------------------------------------------------------------


def test_a11_inputs_after_double_dash_are_named_and_explained(runner, noisy_csv, tmp_path):
    """Before: 'several INPUTs need -o DIR/: ...' named neither INPUT: the user, who
    wrote '-o o.csv' after '--', could not tell that it was taken for two INPUTs."""
    from resdenoise.cli import cli

    dash = tmp_path / "-dash.csv"
    dash.write_bytes(noisy_csv.read_bytes())
    result = runner.invoke(
        cli, ["diffuse", "--time", "2", "--", str(dash), "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2, result.output
    assert f"3 INPUTs ({str(dash)!r}, '-o', {str(tmp_path / 'o.csv')!r}) need -o DIR/" in " ".join(
        result.stderr.split()
    )
    assert "after '--' every argument is an INPUT: put the options before '--'" in " ".join(
        result.stderr.split()
    )


# A5: on 80 columns the bar's count, rate and ETA were cut to "…"
# ---------------------------------------------------------------


def _bar_line(width: int, name: str) -> str:
    import io

    from rich.console import Console

    from resdenoise.cli.render import Bars

    out = io.StringIO()
    console = Console(width=width, height=25, file=out, force_terminal=True, color_system=None)
    clock = [0.0]
    bars = Bars(console=console, get_time=lambda: clock[0])
    bars._update(0, name, "filter", 0, 3_000_000)
    clock[0] = 1.0
    bars._update(0, name, "filter", 1_310_720, 3_000_000)
    console.print(bars.progress.make_tasks_table(bars.progress.tasks))
    return out.getvalue().rstrip("\n")


@pytest.mark.parametrize("name", ["big.wav", "field_recording_2026-12-07_site-A_channel-3.wav"])
def test_a5_an_80_column_bar_keeps_its_numbers(name):
    """Before: '... 44% 1310720/30… 5.55M   0:00:00 ETA 0:00:01' at 80 columns, and with
    a 47-character name no count, rate, elapsed time or ETA at all.  Now the name (cut in
    its middle) and the bar give way; every number is whole, on one line."""
    line = _bar_line(80, name)
    assert "\n" not in line and len(line) <= 80
    for number in ("44%", "1310720/3000000", "samples/s", "0:00:01", "ETA"):
        assert number in line, line
    assert line.startswith(name[:4]) and "filtering" in line.replace("…", " ")


def test_a5_a_narrow_terminal_keeps_the_percentage_and_eta():
    """Before, at 20 columns: 'field_recording… …', not even the percentage."""
    line = _bar_line(20, "field_recording_2026-12-07_site-A_channel-3.wav")
    assert "\n" not in line and len(line) <= 20
    assert "44%" in line and "-:--:--" in line, line
