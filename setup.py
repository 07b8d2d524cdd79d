"""Build of the optional compiled step loops (resdenoise/_kernels.c).

Everything else about the package is in pyproject.toml.  The extension is
optional: without a C compiler the install still succeeds and the engine runs
its NumPy step loop, which gives the same numbers (see resdenoise/engine.py).
"""

import os
import runpy
import sys

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class build_py_commit(build_py):
    """build_py, and the checkout's commit written to resdenoise/COMMIT in the build (an
    install that is no checkout says which commit it was built from: resdenoise/_revision.py)."""

    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        commit = runpy.run_path(os.path.join(here, "resdenoise", "_revision.py"))["git_commit"](
            here
        )
        if commit is not None and not getattr(self, "editable_mode", False):
            with open(os.path.join(self.build_lib, "resdenoise", "COMMIT"), "w") as f:
                f.write(commit + "\n")


if sys.platform == "win32":
    # MSVC: /std:c11 for C99's restrict and inline and hexadecimal float constants
    # (Visual Studio 2019 16.8 or later; an older one ignores the flag with a warning,
    # and _kernels.c maps restrict and inline to __restrict and __inline).  Not built
    # here: MSVC is not tested (README).
    flags = ["/O2", "/fp:precise", "/std:c11"]
else:
    # -ffp-contract=off: no fused multiply-add, so vectorised and scalar code,
    # and every instruction set, give the same bits.  -fno-math-errno lets
    # sqrt be one instruction.
    flags = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]

setup(
    cmdclass={"build_py": build_py_commit},
    ext_modules=[
        Extension(
            "resdenoise._kernels",
            sources=["resdenoise/_kernels.c"],
            extra_compile_args=flags,
            # RESDENOISE_REQUIRE_COMPILED=1 (the Makefile's install) makes a compile
            # error fail the install instead of keeping an older build silently.
            optional=os.environ.get("RESDENOISE_REQUIRE_COMPILED") != "1",
        )
    ],
)
