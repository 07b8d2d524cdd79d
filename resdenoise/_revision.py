"""Which commit the package was built or runs from: the version's local label.

``resdenoise.__version__`` (``--version``, the report's ``tool.version`` and
``job.versions.resdenoise``) is the release, ``0.1.0``, followed by ``+g`` and the
first 12 hex digits of the git commit where that is known: read from the checkout
the package runs from (an editable install, a clone on ``sys.path``: the commit of
the moment, uncommitted changes not shown), else from the ``COMMIT`` file setup.py
writes into an install built from a checkout.  Plain file reads, no ``git`` process
and nothing imported.
"""

from __future__ import annotations

import os

#: The release; pyproject.toml's ``version``.
RELEASE = "0.1.0"
#: Hex digits of the commit in the version (git's short hashes are 7 or more).
DIGITS = 12


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def _is_commit(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def git_commit(root: str) -> str | None:
    """The commit checked out in the git work tree at ``root`` (its ``.git`` a directory,
    or a worktree's or submodule's ``gitdir:`` file), or None: no checkout there, or one
    this cannot read (a ref in neither its file nor ``packed-refs``)."""
    git = os.path.join(root, ".git")
    try:
        if os.path.isfile(git):
            line = _read(git)
            if not line.startswith("gitdir: "):
                return None
            git = os.path.join(root, line[len("gitdir: ") :])
        head = _read(os.path.join(git, "HEAD"))
        if not head.startswith("ref: "):  # detached
            return head if _is_commit(head) else None
        ref = head[len("ref: ") :]
        common = git  # a worktree's branches are the main repository's
        if os.path.isfile(os.path.join(git, "commondir")):
            common = os.path.join(git, _read(os.path.join(git, "commondir")))
        for where in (git, common):
            if os.path.isfile(os.path.join(where, ref)):
                commit = _read(os.path.join(where, ref))
                return commit if _is_commit(commit) else None
        for line in _read(os.path.join(common, "packed-refs")).splitlines():
            commit, _, name = line.partition(" ")
            if name == ref and _is_commit(commit):
                return commit
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None


def version() -> str:
    """:data:`RELEASE`, with ``+g`` and the commit's first :data:`DIGITS` hex digits where
    the package runs from a checkout or was built from one."""
    package = os.path.dirname(os.path.abspath(__file__))
    commit = git_commit(os.path.dirname(package))
    if commit is None:
        try:
            commit = _read(os.path.join(package, "COMMIT"))
        except (OSError, UnicodeDecodeError):
            commit = None
    if commit is None or not _is_commit(commit):
        return RELEASE
    return f"{RELEASE}+g{commit[:DIGITS]}"
