#!/usr/bin/env python3
"""Build a wheel of ZeroC IcePy (zeroc-ice 3.6.5) from an already patched sdist.

Runs inside the build container, in a virtualenv that has setuptools
(>= 70.1, which packs wheels itself) installed:

    python3 icepy_build.py --source DIR --jobs N --out WHEELDIR

The last line printed on stdout is the absolute path of the built wheel.

Why not just ``pip wheel``:

* IcePy is a single extension made of ~230 C/C++ files (the whole Ice C++
  runtime is compiled in). ``build_ext --parallel`` only builds *different
  extensions* in parallel, so a plain build uses one core. Here the
  compiler's per-extension ``compile()`` is replaced by one that compiles
  the object files with a thread pool of N jobs.
* Debug info is useless in the shipped venv and makes the objects several
  times bigger and the compile slower, so ``-g0`` is appended to the
  extension's compile arguments, and the linked module is run through
  ``strip --strip-unneeded`` before bdist_wheel packs it.
* Two compiles of the same sources give the same wheel bytes, on any disk:
  setup.py lists the sources with ``os.walk``, in the file system's
  directory order, and that order is the link order, so the sources are
  sorted first.  The rest is already fixed: the build folder is the same
  path in every build container (and no debug info records it), the wheel's
  file times are SOURCE_DATE_EPOCH (set by the caller), bdist_wheel packs
  the files in name order, and the module's build-id is a hash of its
  contents.

The build itself goes through setuptools' PEP 517 backend
(``setuptools.build_meta.build_wheel``) in this same process, so the
monkey-patches below apply to the ``setup.py`` of the sdist unchanged.

Only the standard library and setuptools/wheel are used.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

# The sdist's setup.py imports ``distutils``. setuptools must be imported
# first: Python >= 3.12 has no stdlib distutils and setuptools provides it,
# and on older Pythons this makes it resolve to setuptools' vendored copy,
# the one setuptools' build_ext (patched below) is built on.
import setuptools  # noqa: F401  (imported for its side effect)
from setuptools import build_meta
from setuptools.command.build_ext import build_ext


def parallel_compile(jobs: int) -> Callable[..., list[str]]:
    """Return a replacement for ``CCompiler.compile`` using ``jobs`` threads.

    It follows the structure of distutils' own ``CCompiler.compile()``
    (``_setup_compile`` computes the object list and per-object options,
    ``_get_cc_args`` the common flags, ``_compile`` runs one compiler
    process), just dispatching the ``_compile`` calls to a thread pool.
    Threads are enough: each one only waits on a compiler subprocess.
    """

    def compile(
        self: Any,
        sources: Sequence[str],
        output_dir: str | None = None,
        macros: list[Any] | None = None,
        include_dirs: list[str] | None = None,
        debug: bool = False,
        extra_preargs: list[str] | None = None,
        extra_postargs: list[str] | None = None,
        depends: list[str] | None = None,
    ) -> list[str]:
        macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs
        )
        cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)
        total = len(objects)
        done = 0
        started = time.monotonic()

        def compile_one(obj: str) -> str:
            src, ext = build[obj]
            self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
            return obj

        print(f"icepy_build: compiling {total} files with {jobs} jobs", flush=True)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures: list[Future[str]] = [pool.submit(compile_one, obj) for obj in objects]
            try:
                for future in as_completed(futures):
                    future.result()  # re-raises CompileError from a worker
                    done += 1
                    if done % 25 == 0 or done == total:
                        elapsed = time.monotonic() - started
                        print(f"icepy_build: {done}/{total} compiled ({elapsed:.0f}s)", flush=True)
            except BaseException:
                # Fail fast: don't start the queued compiles after an error.
                for future in futures:
                    future.cancel()
                raise
        # Same contract as CCompiler.compile(): all object names, in order.
        return list(objects)

    return compile


def install_build_ext_hooks(jobs: int) -> None:
    """Patch setuptools' build_ext: parallel compile, then strip the module."""
    original_build_extensions = build_ext.build_extensions
    original_build_extension = build_ext.build_extension
    compile_with_pool = parallel_compile(jobs)

    def build_extensions(self: build_ext) -> None:
        # self.compiler is the CCompiler instance created by build_ext.run();
        # bind the parallel compile() to this instance only.
        self.compiler.compile = compile_with_pool.__get__(self.compiler)
        for ext in self.extensions:
            # The link order: the same on every machine (see the docstring).
            ext.sources = sorted(ext.sources)
            # extra_compile_args go last on the command line, after Python's
            # own "-g", so -g0 wins. Setting $CFLAGS instead is unreliable:
            # depending on the setuptools version it is appended to Python's
            # flags, replaces them (dropping -O2), or is ignored for C++.
            ext.extra_compile_args = [*(ext.extra_compile_args or []), "-g0"]
        original_build_extensions(self)

    def build_extension(self: build_ext, ext: Any) -> None:
        original_build_extension(self, ext)
        # The module is linked into build/lib*/ and bdist_wheel copies it
        # from there, so stripping it here is what ends up in the wheel.
        module = self.get_ext_fullpath(ext.name)
        before = os.path.getsize(module)
        subprocess.run([strip_tool(), "--strip-unneeded", module], check=True)
        after = os.path.getsize(module)
        print(f"icepy_build: stripped {module}: {before} -> {after} bytes", flush=True)

    build_ext.build_extensions = build_extensions  # type: ignore[method-assign,assignment]
    build_ext.build_extension = build_extension  # type: ignore[method-assign]


def strip_tool() -> str:
    """The binutils ``strip`` to use (``$STRIP`` if set, as for cross builds)."""
    tool = os.environ.get("STRIP") or shutil.which("strip")
    if not tool:
        sys.exit("icepy_build: 'strip' not found (install binutils)")
    return tool


def build_wheel(source: Path, jobs: int, out: Path) -> Path:
    """Build the wheel from ``source`` into ``out`` and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    install_build_ext_hooks(jobs)
    # setup.py uses paths relative to the sdist root ('lib', 'src').
    os.chdir(source)
    name = build_meta.build_wheel(str(out))
    return out / name


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        help="unpacked and patched zeroc-ice sdist (the dir holding setup.py)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel compiler processes (default: number of CPUs)",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write the wheel to")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    if not (args.source / "setup.py").is_file():
        parser.error(f"{args.source} has no setup.py")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    wheel = build_wheel(args.source.resolve(), args.jobs, args.out.resolve())
    # CPU time of all the compiler/linker processes: unlike the wall time it
    # does not depend on --jobs or on other load on the machine.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"icepy_build: built in {time.monotonic() - started:.0f}s wall, "
        f"{children.ru_utime + children.ru_stime:.0f}s CPU in subprocesses",
        file=sys.stderr,
    )
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
