"""Command line: parse, build the configuration, call one function."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import click
import docker

from builder import __version__
from builder.config import (
    DEFAULT_OMERO_WEB_VERSION,
    BuildConfig,
    maintainer_from_environment,
    network_from_environment,
    validate_version,
)
from builder.errors import BuildError
from builder.progress import Progress
from builder.repo.commands import DEFAULT_KEY_EXPIRY, DEFAULT_KEY_USER_ID
from builder.resources import checkout_root, packaging_root, source_date_epoch
from builder.runner import Runner
from builder.targets import DEFAULT_TARGET, TARGETS, get_target, oldest_python_target
from builder.tool_venv import TOOLS

F = TypeVar("F", bound=Callable[..., Any])


def default_cache_dir(environ: os._Environ[str] | dict[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "omero-web-deb"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_reporting_errors(debug: bool, action: Callable[[], None]) -> None:
    """Turn a BuildError into its exit code and a short message.  SIGTERM
    (a CI timeout, `kill`) unwinds like Ctrl-C, so containers are removed."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        action()
    except BuildError as e:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def version_text() -> str:
    """What --version prints: the toolkit's version and what it builds by default."""
    return (
        f"omero-web-deb {__version__} (builds omero-web {DEFAULT_OMERO_WEB_VERSION} by default, "
        f"for {DEFAULT_TARGET})"
    )


T = TypeVar("T")


def run_logged(work_log: Path, verbose: bool, run: Callable[[Progress], T]) -> T:
    """RUN with its steps logged to WORK_LOG, which a failure names."""
    progress = Progress(log_path=work_log, verbose=verbose)
    try:
        return run(progress)
    except BuildError:
        progress.say(f"the full build log is {work_log}")
        raise
    finally:
        progress.close()


@click.group()
@click.version_option(__version__, message=version_text(), help="Show the version and exit.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Build, test and publish native Debian packages of OMERO.web."""
    ctx.obj = {"debug": debug}


# Options the build and app commands share.
_ca_cert_option = click.option(
    "--ca-cert", "ca_certs", multiple=True, type=click.Path(path_type=Path),
    help="Extra CA certificate (PEM) to trust inside containers; repeatable.",
)  # fmt: skip
_output_option = click.option(
    "--output", "output_dir", type=click.Path(path_type=Path), default=Path("dist"),
    show_default=True,
)  # fmt: skip
_cache_dir_option = click.option(
    "--cache-dir", type=click.Path(path_type=Path), help="Default: ~/.cache/omero-web-deb"
)
_maintainer_option = click.option(
    "--maintainer", help="Name <email> for the changelog; default: DEBFULLNAME <DEBEMAIL>."
)


@main.command()
@click.option(
    "--target",
    "target_name",
    default=DEFAULT_TARGET,
    show_default=True,
    help="Distribution to build for (see `targets`).",
)
@click.option("--omero-web-version", default=DEFAULT_OMERO_WEB_VERSION, show_default=True)
@click.option(
    "--revision",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Debian revision of this build.",
)
@click.option(
    "--icepy-wheel", metavar="URL|FILE", help="Use this IcePy 3.6.5 wheel instead of building one."
)
@click.option(
    "--icepy-sha256",
    metavar="HEX",
    help="The --icepy-wheel's sha256: required for a URL, checked for a file.",
)
@click.option(
    "--lock",
    "lock_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Install the venv from this lock instead of locks/<target>/omero-web-<version>.txt.",
)
@click.option(
    "--app",
    "apps",
    multiple=True,
    metavar="NAME[==VERSION]",
    help="Bake this OMERO.web app into the package (see `app`); repeatable.",
)
@click.option(
    "--mirror", metavar="URL", help="Distribution mirror for bootstrapping the base image."
)
@click.option(
    "--security-mirror",
    metavar="URL",
    help="Mirror of the -security suite (default: Debian's security archive; for Ubuntu, --mirror).",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Bootstrap the base image anew, with today's updates, even if one is cached.",
)
@_ca_cert_option
@click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True)
@_output_option
@_cache_dir_option
@_maintainer_option
@click.option(
    "--lintian/--no-lintian",
    default=True,
    show_default=True,
    help="Check the package with lintian (report in the output folder).",
)
@click.option("--verbose", is_flag=True, help="Print the build log as it is written.")
@click.pass_context
def build(
    ctx: click.Context,
    target_name: str,
    omero_web_version: str,
    revision: int,
    icepy_wheel: str | None,
    icepy_sha256: str | None,
    lock_file: Path | None,
    apps: tuple[str, ...],
    mirror: str | None,
    security_mirror: str | None,
    refresh: bool,
    ca_certs: tuple[Path, ...],
    jobs: int,
    output_dir: Path,
    cache_dir: Path | None,
    maintainer: str | None,
    lintian: bool,
    verbose: bool,
) -> None:
    """Build omero-web_<version>_amd64.deb for one target."""
    from builder.build import build as run_build
    from builder.build import log_path_for

    environ = os.environ
    cache = cache_dir or default_cache_dir(environ)

    def action() -> None:
        config = BuildConfig(
            target=get_target(target_name),
            project_root=packaging_root(),
            output_dir=output_dir.resolve(),
            cache_dir=cache.resolve(),
            omero_web_version=validate_version(omero_web_version),
            revision=revision,
            icepy_wheel=icepy_wheel,
            icepy_sha256=icepy_sha256,
            lock_file=lock_file.resolve() if lock_file else None,
            apps=apps,
            mirror=mirror,
            security_mirror=security_mirror,
            refresh_base=refresh,
            network=network_from_environment(environ, ca_certs),
            jobs=jobs,
            maintainer=maintainer or maintainer_from_environment(environ),
            source_date_epoch=source_date_epoch(environ, checkout_root(), packaging_root()),
            keep_containers=environ.get("OMERO_WEB_DEB_KEEP_CONTAINERS") == "1",
            lintian=lintian,
        )
        # The log is written in the cache and moved beside the artifacts only
        # when they are all there: a failed build leaves nothing in --output.
        work_log = config.cache_dir / "logs" / f"{os.getpid()}-{log_path_for(config).name}"
        started = time.monotonic()
        result = run_logged(work_log, verbose, lambda progress: run_build(config, progress))
        final_log = log_path_for(config)
        shutil.move(work_log, final_log)
        click.echo(f"built in {time.monotonic() - started:.0f} s:")
        for path in (
            result.artifacts.deb,
            *result.artifacts.others,
            result.artifacts.lintian_report,
            final_log,
        ):
            click.echo(f"  {path}")

    run_reporting_errors(ctx.obj["debug"], action)


@main.command("app")
@click.argument("apps", nargs=-1, required=True, metavar="NAME[==VERSION]...")
@click.option(
    "--target",
    "target_name",
    default=DEFAULT_TARGET,
    show_default=True,
    help="Distribution to build for: the omero-web package's.",
)
@click.option(
    "--omero-web-deb",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The omero-web .deb to build against (default: the newest for the target in --output).",
)
@click.option(
    "--revision",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Debian revision of the app packages.",
)
@_ca_cert_option
@_output_option
@_cache_dir_option
@_maintainer_option
@click.option("--lintian/--no-lintian", default=True, show_default=True)
@click.option("--verbose", is_flag=True, help="Print the build log as it is written.")
@click.pass_context
def app(ctx: click.Context, apps: tuple[str, ...], target_name: str, omero_web_deb: Path | None,
        revision: int, ca_certs: tuple[Path, ...], output_dir: Path, cache_dir: Path | None,
        maintainer: str | None, lintian: bool, verbose: bool) -> None:  # fmt: skip
    """Build omero-web-app-<name> packages of OMERO.web apps (omero-figure,
    omero-iviewer==0.19.1, ...) against an omero-web .deb, in one container."""
    from builder.apps.build import AppBuildConfig, build_apps

    environ = os.environ
    cache = (cache_dir or default_cache_dir(environ)).resolve()

    def action() -> None:
        config = AppBuildConfig(
            build=BuildConfig(
                target=get_target(target_name),
                project_root=packaging_root(),
                output_dir=output_dir.resolve(),
                cache_dir=cache,
                revision=revision,
                network=network_from_environment(environ, ca_certs),
                maintainer=maintainer or maintainer_from_environment(environ),
                source_date_epoch=source_date_epoch(environ, checkout_root(), packaging_root()),
                keep_containers=environ.get("OMERO_WEB_DEB_KEEP_CONTAINERS") == "1",
                lintian=lintian,
            ),
            apps=apps,
            omero_web_deb=omero_web_deb.resolve() if omero_web_deb else None,
        )
        work_log = cache / "logs" / f"{os.getpid()}-apps.build.log"
        started = time.monotonic()
        built = run_logged(work_log, verbose, lambda progress: build_apps(config, progress))
        final_log = built[0].files[0].with_name(f"{built[0].package.stem}.build.log")
        shutil.move(work_log, final_log)
        click.echo(f"built in {time.monotonic() - started:.0f} s:")
        for result in built:
            for path in result.files:
                click.echo(f"  {path}")
        click.echo(f"  {final_log}")

    run_reporting_errors(ctx.obj["debug"], action)


@main.command()
@click.option("--mirror", metavar="URL", help="Check bootstrapping from this mirror.")
@_cache_dir_option
@click.pass_context
def targets(ctx: click.Context, mirror: str | None, cache_dir: Path | None) -> None:
    """List targets and whether their base image can be had here."""
    from builder.container import docker_client

    def action() -> None:
        with closing(docker_client()) as client:
            list_targets(client, cache_dir or default_cache_dir(os.environ), mirror)

    run_reporting_errors(ctx.obj["debug"], action)


def list_targets(client: docker.DockerClient, cache_dir: Path, mirror: str | None) -> None:
    from builder.availability import check_availability

    click.echo(f"{'target':14} {'codename':9} {'python':7} available")
    for target in TARGETS.values():
        result = check_availability(client, target, cache_dir, mirror)
        state = "yes" if result.available else "no"
        click.echo(f"{target.name:14} {target.codename:9} {target.python:7} {state}: {result.how}")


# --- requirement locks ----------------------------------------------------


@main.command("lock")
@click.option(
    "--target",
    "target_name",
    help=f"Distribution to resolve for [default: {DEFAULT_TARGET}; with --tool, the one "
    "with the oldest Python].",
)
@click.option("--omero-web-version", default=DEFAULT_OMERO_WEB_VERSION, show_default=True)
@click.option(
    "--tool",
    "tool_name",
    type=click.Choice(sorted(TOOLS)),
    help="Lock this build tool (locks/tools/<tool>.txt) instead of omero-web's venv.",
)
@_ca_cert_option
@_cache_dir_option
@click.option("--verbose", is_flag=True, help="Print the log as it is written.")
@click.pass_context
def lock(ctx: click.Context, target_name: str | None, omero_web_version: str,
         tool_name: str | None, ca_certs: tuple[Path, ...], cache_dir: Path | None,
         verbose: bool) -> None:  # fmt: skip
    """Make or refresh the lock of a target and omero-web version, or of a
    build tool.

    pip resolves in the target's build container; the lock, with the sha256
    of every file the target may install, goes to
    locks/<target>/omero-web-<version>.txt.  A build tool's lock holds
    pure-Python wheels, for every target, and goes to locks/tools/<tool>.txt.
    """
    from builder.build import make_lock, make_tool_lock

    environ = os.environ
    cache = (cache_dir or default_cache_dir(environ)).resolve()

    def action() -> None:
        root = checkout_root() or Path.cwd()
        if target_name is not None:
            target = get_target(target_name)
        else:
            target = oldest_python_target() if tool_name else get_target(DEFAULT_TARGET)
        config = BuildConfig(
            target=target,
            project_root=root,
            output_dir=root,
            cache_dir=cache,
            omero_web_version=validate_version(omero_web_version),
            network=network_from_environment(environ, ca_certs),
        )
        log = cache / "logs" / f"{os.getpid()}-lock.log"
        progress = Progress(log_path=log, verbose=verbose)
        try:
            if tool_name is None:
                path, changed = make_lock(config, progress)
            else:
                path, changed = make_tool_lock(config, progress, TOOLS[tool_name])
        except BuildError:
            progress.say(f"the full log is {log}")
            raise
        finally:
            progress.close()
        log.unlink()
        click.echo(f"{'wrote' if changed else 'unchanged:'} {path}")

    run_reporting_errors(ctx.obj["debug"], action)


@main.command("check-locks")
@click.pass_context
def check_locks(ctx: click.Context) -> None:
    """Check the committed locks against what the package index serves now."""
    from builder.lock_check import check_committed_locks

    def action() -> None:
        root = checkout_root() or Path.cwd()
        for line in check_committed_locks(root, network_from_environment(os.environ).index_url):
            click.echo(line)

    run_reporting_errors(ctx.obj["debug"], action)


# --- apt repository -------------------------------------------------------

_repo_option = click.option(
    "--repo", "repo_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="The repository folder; its public/ is what the web server serves.",
)  # fmt: skip
_gnupghome_option = click.option(
    "--gnupghome", type=click.Path(file_okay=False, path_type=Path),
    help="GnuPG home holding the signing key (default: the repository's private/gnupg).",
)  # fmt: skip
_key_option = click.option("--key", metavar="FINGERPRINT", help="The signing key in --gnupghome.")
_passphrase_option = click.option(
    "--passphrase-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="File holding the signing key's passphrase, if it has one.",
)  # fmt: skip
_verbose_option = click.option(
    "--verbose", is_flag=True, help="Print every command and its output."
)


def _repo_runner(verbose: bool) -> Runner:
    return Runner(click.echo if verbose else lambda _line: None)


@main.group()
def repo() -> None:
    """Publish packages to a signed apt repository with one suite per target."""


@repo.command("init")
@_repo_option
@click.option(
    "--suite",
    "suites",
    multiple=True,
    metavar="CODENAME",
    help="A suite to serve (codename or target name); repeatable. Default: every target.",
)
@click.option(
    "--url", help="Where clients reach the repository's public/; written into .sources files."
)
@_gnupghome_option
@_key_option
@_passphrase_option
@click.option(
    "--key-uid",
    default=DEFAULT_KEY_USER_ID,
    show_default=True,
    help="User ID of a new signing key.",
)
@click.option(
    "--key-expiry",
    default=DEFAULT_KEY_EXPIRY,
    show_default=True,
    help="Expiry of a new signing key (gpg syntax: 2y, 5y, never).",
)
@_verbose_option
@click.pass_context
def repo_init(ctx: click.Context, repo_dir: Path, suites: tuple[str, ...], url: str | None,
              gnupghome: Path | None, key: str | None, passphrase_file: Path | None,
              key_uid: str, key_expiry: str, verbose: bool) -> None:  # fmt: skip
    """Create a repository, and a signing key unless --key names one."""
    from builder.repo.commands import SigningOptions, init_repository
    from builder.repo.layout import parse_suites

    def action() -> None:
        chosen = parse_suites(suites or list(TARGETS))
        signing = SigningOptions(gnupghome, key, passphrase_file)
        config, result = init_repository(
            repo_dir, chosen, url, signing, _repo_runner(verbose),
            key_user_id=key_uid, key_expiry=key_expiry,
        )  # fmt: skip
        click.echo(f"repository {repo_dir.resolve()}: suites {', '.join(config.suites)}")
        click.echo(f"signing key {config.fingerprint} in {config.gnupghome}")
        click.echo(f"serve {repo_dir.resolve() / 'public'} (now {result.tree.name}) over HTTP(S)")

    run_reporting_errors(ctx.obj["debug"], action)


@repo.command("publish")
@click.argument("debs", nargs=-1, required=True, type=click.Path(path_type=Path))
@_repo_option
@_gnupghome_option
@_key_option
@_passphrase_option
@_verbose_option
@click.pass_context
def repo_publish(ctx: click.Context, debs: tuple[Path, ...], repo_dir: Path, gnupghome: Path | None,
                 key: str | None, passphrase_file: Path | None, verbose: bool) -> None:  # fmt: skip
    """Add .debs to their suites (from each version's ~target suffix; the toolkit's own
    python3-omero-web-deb to every suite), re-sign, switch atomically."""
    from builder.repo.commands import SigningOptions, publish

    def action() -> None:
        signing = SigningOptions(gnupghome, key, passphrase_file)
        result = publish(repo_dir, debs, signing, _repo_runner(verbose))
        for info in result.added:
            click.echo(f"published {info.package} {info.version} to {info.suite}")
        for info in result.unchanged:
            click.echo(f"already published: {info.package} {info.version} in {info.suite}")
        click.echo(f"serving {result.tree}")

    run_reporting_errors(ctx.obj["debug"], action)


@repo.command("client-config")
@_repo_option
@click.option("--suite", required=True, metavar="CODENAME", help="The client's codename.")
@click.option("--url", help="Where clients reach public/ (default: the one given at init).")
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the keyring and .sources file here instead of printing the .sources.",
)
@click.pass_context
def repo_client_config(ctx: click.Context, repo_dir: Path, suite: str, url: str | None,
                       output_dir: Path | None) -> None:  # fmt: skip
    """The files a client needs: /etc/apt/keyrings/omero-web-deb.gpg and a .sources file."""
    from builder.repo.commands import client_sources, write_client_config
    from builder.repo.index import CLIENT_KEYRING, CLIENT_SOURCES

    def action() -> None:
        if output_dir is None:
            click.echo(client_sources(repo_dir, suite, url), nl=False)
            return
        keyring, sources = write_client_config(repo_dir, suite, url, output_dir)
        click.echo(f"install {keyring} as {CLIENT_KEYRING}")
        click.echo(f"install {sources} as {CLIENT_SOURCES}")

    run_reporting_errors(ctx.obj["debug"], action)


@repo.command("list")
@_repo_option
@click.pass_context
def repo_list(ctx: click.Context, repo_dir: Path) -> None:
    """The versions each suite serves: what `apt install omero-web=<version>` can roll back to."""
    from builder.repo.commands import published_versions

    def action() -> None:
        for suite, pairs in published_versions(repo_dir).items():
            click.echo(f"{suite}:")
            for package, version in pairs:
                click.echo(f"  {package} {version}")

    run_reporting_errors(ctx.obj["debug"], action)
