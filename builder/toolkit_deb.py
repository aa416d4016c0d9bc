"""python3-omero-web-deb: the toolkit itself as a Debian package, built with stdeb.

`make toolkit-deb` runs this from a source checkout.  In a container of the
target (its build image: debhelper, lintian), with the distribution's own
python3-stdeb, dh-python and the toolkit's dependencies:

1. the source tree: the toolkit's code, with the omero-web package's sources
   (debian/, templates/) under builder/data/, where the installed toolkit
   finds them (builder/resources.py): stdeb writes its own debian/ at the
   top of the tree it packages;
2. stdeb's `sdist_dsc` writes the Debian source package (dh with pybuild);
   to it we add the copyright, the manual page, made in debian/rules from
   the CLI's own help (builder/manpage.py), and lintian overrides;
3. `dpkg-buildpackage -b`, then lintian, which must find no error or warning.

The package is Architecture: all, its dependencies the distribution's own
(dh_python3 maps the wheel's requirements to python3-click, ...): one
build serves every target, and `repo publish` puts it in every suite.
"""

from __future__ import annotations

import tempfile
from contextlib import closing
from pathlib import Path, PurePosixPath

import click

from builder import __version__
from builder.config import NetworkSettings, network_from_environment
from builder.container import Container, ContainerLike, docker_client
from builder.errors import BuildError, UsageError
from builder.images import BaseSource, ensure_base_image, ensure_build_image
from builder.resources import DATA_FOLDERS, checkout_root, packaging_files
from builder.runner import Runner
from builder.targets import TARGETS, get_target
from builder.trust import trust_ca_certificates

PACKAGE = "python3-omero-web-deb"
SOURCE = "omero-web-deb"
DEBIAN_REVISION = 1
DEFAULT_TARGET = "debian-12"
# The toolkit's Python dependencies as the distributions package them:
# Build-Depends too, since debian/rules runs the CLI to write its manual page.
PYTHON_DEPENDS = (
    "python3-click",
    "python3-jinja2",
    "python3-debian",
    "python3-docker",
    "python3-packaging",
)
BUILD_TOOLS = ("python3-stdeb", "dh-python", "python3-all", "python3-setuptools")
# Bootstrapping base images needs mmdebstrap and gpgv on the host; the
# engine may be Debian's or Docker's own; `repo` needs apt-ftparchive and gpg.
DEPENDS = ("mmdebstrap", "gpgv")
RECOMMENDS = ("docker.io | docker-ce", "apt-utils", "gnupg")
# What the tree carries from the checkout, besides the packaging folders.
TOOLKIT_FILES = ("builder", "pyproject.toml", "setup.py")
WORK = PurePosixPath("/toolkit-deb")

SYNOPSIS = "build native Debian packages of OMERO.web"
LONG_DESCRIPTION = """\
omero-web-deb builds omero-web_<version>_amd64.deb, OMERO.web with its own
Python environment (IcePy 3.6, omero-web and every dependency pinned),
static files and a systemd unit, nginx site and debconf questions, for
Ubuntu 22.04 and 24.04 and Debian 12 and 13, in Docker containers.  It
also packages OMERO.web apps and keeps a signed apt repository of the
results.
"""

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: omero-web-deb

Files: *
Copyright: 2026 omero-web-deb contributors
License: GPL-2+
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License as published by the Free
 Software Foundation; either version 2 of the License, or (at your option)
 any later version.
 .
 On Debian systems the full text of the GNU General Public License version 2
 can be found in /usr/share/common-licenses/GPL-2.
"""

LINTIAN_OVERRIDES = f"""\
# builder/data/ holds the omero-web package's debian/ sources and templates:
# the toolkit copies them into its build container and runs them there (where
# make and debhelper are), never on this host, with the modes they need there.
{PACKAGE}: missing-dep-for-interpreter /usr/bin/make * [usr/lib/python3/dist-packages/builder/data/debian/rules]
{PACKAGE}: script-not-executable [usr/lib/python3/dist-packages/builder/data/*]
{PACKAGE}: package-contains-documentation-outside-usr-share-doc [usr/lib/python3/dist-packages/builder/data/*]
# Built for a facility's own repository, never uploaded to Debian: no bug to close.
{PACKAGE}: initial-upload-closes-no-bugs
"""

# The manual page is made from the CLI's own help, by the toolkit in the
# tree being packaged; SOURCE_DATE_EPOCH (set by dpkg-buildpackage from the
# changelog) dates it.
RULES_MANPAGE = """
execute_after_dh_auto_build:
\tpython3 -m builder.manpage > debian/omero-web-deb.1
"""


def stdeb_cfg(maintainer: str) -> str:
    return (
        "[DEFAULT]\n"
        f"Source: {SOURCE}\n"
        f"Package3: {PACKAGE}\n"
        f"Maintainer: {maintainer}\n"
        f"Debian-Version: {DEBIAN_REVISION}\n"
        "Section: python\n"
        f"Build-Depends: {', '.join(PYTHON_DEPENDS)}\n"
        f"Depends3: {', '.join(DEPENDS)}\n"
        f"Recommends3: {', '.join(RECOMMENDS)}\n"
        "X-Python3-Version: >= 3.10\n"
        "Copyright-File: debian-copyright\n"
    )


def source_tree(checkout: Path, maintainer: str) -> dict[PurePosixPath, tuple[bytes, int]]:
    """The tree stdeb packages: code, packaging folders under builder/data/,
    and what stdeb reads (stdeb.cfg, the copyright, a short README.md that
    becomes the long description)."""
    files: dict[PurePosixPath, tuple[bytes, int]] = {}

    def add(source: Path, destination: PurePosixPath) -> None:
        files[destination] = (source.read_bytes(), source.stat().st_mode & 0o777)

    for name in TOOLKIT_FILES:
        path = checkout / name
        for file in packaging_files(path) if path.is_dir() else [path]:
            add(file, PurePosixPath(file.relative_to(checkout).as_posix()))
    for folder in DATA_FOLDERS:
        for file in packaging_files(checkout / folder):
            relative = PurePosixPath(file.relative_to(checkout).as_posix())
            add(file, PurePosixPath("builder", "data") / relative)
    files[PurePosixPath("README.md")] = (LONG_DESCRIPTION.encode(), 0o644)
    files[PurePosixPath("stdeb.cfg")] = (stdeb_cfg(maintainer).encode(), 0o644)
    files[PurePosixPath("debian-copyright")] = (COPYRIGHT.encode(), 0o644)
    return files


def debianized_dir(tree: PurePosixPath) -> PurePosixPath:
    """Where stdeb's sdist_dsc unpacks the source package it writes."""
    return tree / "deb_dist" / f"{SOURCE}-{__version__}"


def deb_name() -> str:
    return f"{PACKAGE}_{__version__}-{DEBIAN_REVISION}_all.deb"


def build_in(container: ContainerLike, checkout: Path, maintainer: str) -> PurePosixPath:
    """Build the package in a running container of the target; its path there."""
    container.call(["apt-get", "update", "-q"])
    container.call(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *BUILD_TOOLS,
         *PYTHON_DEPENDS],
        hint="the distribution packages stdeb and the toolkit's dependencies for "
        "Debian 12 and later and Ubuntu 24.04 and later: choose such a --target",
    )  # fmt: skip
    tree = WORK / f"{SOURCE}-{__version__}"
    container.write_tree(tree, source_tree(checkout, maintainer))
    container.call(
        ["python3", "setup.py", "--command-packages=stdeb.command", "sdist_dsc", "--compat", "13"],
        workdir=tree,
        hint="stdeb needs setuptools 61 or later, which reads pyproject.toml: "
        "Debian 12 and later and Ubuntu 24.04 and later have it",
    )
    debian = debianized_dir(tree) / "debian"
    container.write_tree(
        debian,
        {
            PurePosixPath(f"{PACKAGE}.manpages"): (b"debian/omero-web-deb.1\n", 0o644),
            PurePosixPath(f"{PACKAGE}.lintian-overrides"): (LINTIAN_OVERRIDES.encode(), 0o644),
        },
    )
    # stdeb writes the rules; the manual page is one step more.  Its control
    # names setup.py's URL, which the toolkit has none of.
    rules = container.call(["cat", str(debian / "rules")]).stdout + RULES_MANPAGE
    container.write_file(debian / "rules", rules.encode(), mode=0o755)
    control = container.call(["cat", str(debian / "control")]).stdout
    control = "".join(
        line for line in control.splitlines(keepends=True) if line != "Homepage: None\n"
    )
    container.write_file(debian / "control", control.encode())
    container.call(["dpkg-buildpackage", "-b", "-us", "-uc"], workdir=debianized_dir(tree))
    deb = debianized_dir(tree).parent / deb_name()
    report = container.call(
        ["lintian", "--pedantic", "--display-info", "--fail-on", "error,warning", str(deb)],
        check=False,
    )
    if report.returncode != 0:
        raise BuildError(f"lintian found errors or warnings in {deb.name}:\n{report.output}")
    return deb


def build_toolkit_deb(
    target_name: str, output_dir: Path, cache_dir: Path, maintainer: str, network: NetworkSettings
) -> Path:
    """Build the package for a target and copy it into output_dir; its path."""
    checkout = checkout_root()
    if checkout is None:
        raise UsageError(
            "the toolkit's Debian package is built from a source checkout: "
            "run `make toolkit-deb` in a clone of omero-web-deb"
        )
    target = get_target(target_name)
    runner = Runner(print)
    with closing(docker_client()) as client:
        base = ensure_base_image(client, BaseSource.for_target(target), runner, cache_dir=cache_dir)
        image = ensure_build_image(client, base, target, network, print, cache_dir)
        with Container(
            client,
            image,
            log=print,
            name_prefix=f"omero-web-deb-toolkit-{target.name}",
            environment={"DEBIAN_FRONTEND": "noninteractive", **network.environment},
        ) as container:
            trust_ca_certificates(container, network.ca_certificates)
            deb = build_in(container, checkout, maintainer)
            output_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=output_dir, prefix=".partial-") as partial:
                copied = container.copy_out(deb, Path(partial))
                return copied.replace(output_dir / deb.name)


@click.command()
@click.option("--target", "target_name", default=DEFAULT_TARGET, show_default=True,
              type=click.Choice(list(TARGETS)), help="Distribution whose stdeb builds it.")  # fmt: skip
@click.option("--output", "output_dir", type=click.Path(path_type=Path), default=Path("dist"),
              show_default=True)  # fmt: skip
@click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Default: ~/.cache/omero-web-deb"
)
@click.option(
    "--maintainer", help="Name <email> for the changelog; default: DEBFULLNAME <DEBEMAIL>."
)
def main(
    target_name: str, output_dir: Path, cache_dir: Path | None, maintainer: str | None
) -> None:
    """Build python3-omero-web-deb_<version>-1_all.deb with the target's stdeb."""
    import os

    from builder.cli import default_cache_dir, run_reporting_errors
    from builder.config import maintainer_from_environment

    def action() -> None:
        deb = build_toolkit_deb(
            target_name,
            output_dir.resolve(),
            (cache_dir or default_cache_dir(os.environ)).resolve(),
            maintainer or maintainer_from_environment(os.environ),
            network_from_environment(os.environ),
        )
        click.echo(f"built {deb}")

    run_reporting_errors(False, action)


if __name__ == "__main__":
    main()
