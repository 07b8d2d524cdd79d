"""Report and message defects a new user's audit (audit10c, D1 to D4) confirmed: the report
says what the output written is, names a level the search chose itself for what it is, a
passed-through channel keeps its text, and refusals give exact numbers."""

from __future__ import annotations

from test_audit_messages import _csv, _error

from resdenoise.cli import cli

# D4. the block-limit refusal gives the exact step count and time (not 1e+08 against 100,000,000)


def test_block_limit_refusal_gives_exact_integers(runner, tmp_path):
    src = _csv(tmp_path / "s5.csv", [1, 2, 3, 4, 5])
    out = tmp_path / "o.csv"
    args = ["diffuse", str(src), "--time", "25000001", "-o", str(out)]
    line = _error(runner.invoke(cli, args), 2)
    assert line.startswith("Error: time 25000001 at tau <= 0.25 needs 100000004 steps, "), line
    assert "(at most 100,000,000;" in line, line
    assert not out.exists()
