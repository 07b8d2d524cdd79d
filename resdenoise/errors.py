"""The project's exceptions: a small tree, each with the CLI exit code it maps to."""

from __future__ import annotations

__all__ = ["ResdenoiseError", "SignalError", "UnstableError", "ParameterError"]


class ResdenoiseError(Exception):
    """Base of resdenoise's own errors."""

    exit_code = 1


class SignalError(ResdenoiseError, ValueError):
    """A signal file cannot be read or written (names the file, line, field)."""

    exit_code = 1


class ParameterError(ResdenoiseError, ValueError):
    """A parameter is out of range or inconsistent with others."""

    exit_code = 2


class UnstableError(ResdenoiseError):
    """A run was refused because its tau or nonlinearity is not stable."""

    exit_code = 3
