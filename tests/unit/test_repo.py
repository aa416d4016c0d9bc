"""The apt repository with tiny real .debs: real apt-ftparchive, gpg, gpgv
and, where the host has it, apt-get itself reading the result.  No Docker."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from debian.deb822 import Packages, Release

from builder.cli import main
from builder.errors import BuildError, CommandFailed
from builder.repo.commands import (
    SigningOptions,
    init_repository,
    publish,
    published_versions,
)
from builder.repo.index import KEYRING_NAME, index_dir, render_sources, sources_file_name
from builder.repo.signing import SigningKey, create_signing_key
from builder.runner import Runner
from tests.fake_debs import make_deb

pytestmark = [
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("apt-ftparchive", "gpg", "gpgv", "dpkg-deb")),
        reason="needs apt-utils, gnupg and dpkg-deb (apt-get install apt-utils gnupg)",
    ),
]


URL = "http://repo.example/omero-web"
SUITES = ("bookworm", "trixie")


# --- fixtures --------------------------------------------------------------


def stop_agent(gnupghome: Path) -> None:
    """Stop a test's gpg-agent."""
    subprocess.run(["gpgconf", "--homedir", str(gnupghome), "--kill", "gpg-agent"], check=False)


@pytest.fixture(scope="session")
def runner() -> Runner:
    return Runner(print)


@pytest.fixture(scope="session")
def shared_key(tmp_path_factory: pytest.TempPathFactory, runner: Runner) -> Iterator[SigningKey]:
    """One key for most tests: making a key per test would be slow."""
    home = tmp_path_factory.mktemp("gpg")
    key = create_signing_key(home, "test repository <test@localhost>", "1y", runner)
    yield key
    stop_agent(home)


@pytest.fixture(scope="session")
def other_key(tmp_path_factory: pytest.TempPathFactory, runner: Runner) -> Iterator[SigningKey]:
    home = tmp_path_factory.mktemp("other")
    key = create_signing_key(home, "someone else <else@localhost>", "1y", runner)
    yield key
    stop_agent(home)


@pytest.fixture
def repo(tmp_path: Path, shared_key: SigningKey, runner: Runner) -> Path:
    root = tmp_path / "repo"
    signing = SigningOptions(shared_key.gnupghome, shared_key.fingerprint)
    init_repository(root, SUITES, URL, signing, runner)
    return root


@pytest.fixture
def debs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "debs"
    folder.mkdir()
    return {
        "r1-deb12": make_deb(folder, "5.33.2-1~deb12", "bookworm"),
        "r2-deb12": make_deb(folder, "5.33.2-2~deb12", "bookworm"),
        "r1-deb13": make_deb(folder, "5.33.2-1~deb13", "trixie"),
        "r1-jammy": make_deb(folder, "5.33.2-1~ubuntu22.04", "jammy"),
    }


def served(repo: Path) -> Path:
    return (repo / "public").resolve()


def packages_of(repo: Path, suite: str) -> list[Packages]:
    text = (index_dir(served(repo), suite) / "Packages").read_text()
    return list(Packages.iter_paragraphs(text, use_apt_pkg=False))


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every name, file content and link target, outside private/."""
    state: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        dirs[:] = [d for d in dirs if not (base == root and d == "private")]
        for name in sorted(dirs + files):
            path = base / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                state[key] = f"-> {os.readlink(path)}"
            elif path.is_file():
                state[key] = path.read_bytes()
            else:
                state[key] = "dir"
    return state


def gpgv(keyring: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    argv = ["gpgv", "--keyring", str(keyring), *map(str, files)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


# --- init ------------------------------------------------------------------


def test_init_makes_a_key_and_serves_empty_signed_suites(tmp_path: Path, runner: Runner) -> None:
    root = tmp_path / "r"
    config, _ = init_repository(root, SUITES, URL, SigningOptions(), runner)
    try:
        tree = served(root)
        assert (root / "public").is_symlink() and tree.parent == root / "releases"
        assert config.gnupghome == "private/gnupg"
        assert (root / "private").stat().st_mode & 0o077 == 0
        assert (root / "private" / "gnupg").stat().st_mode & 0o077 == 0
        for suite in SUITES:
            dists = tree / "dists" / suite
            assert gpgv(tree / KEYRING_NAME, dists / "InRelease").returncode == 0
            assert (
                gpgv(tree / KEYRING_NAME, dists / "Release.gpg", dists / "Release").returncode == 0
            )
            release = Release((dists / "Release").read_text())
            assert release["Suite"] == release["Codename"] == suite
            assert release["Components"] == "main" and release["Architectures"] == "amd64"
            assert release["Acquire-By-Hash"] == "yes"
            assert packages_of(root, suite) == []
            assert (tree / sources_file_name(suite)).read_text() == render_sources(URL, suite)
    finally:
        stop_agent(root / "private" / "gnupg")


def test_the_served_tree_holds_no_secret(repo: Path) -> None:
    tree = served(repo)
    for path in tree.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    packets = subprocess.run(
        ["gpg", "--batch", "--list-packets", str(tree / KEYRING_NAME)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert ":public key packet:" in packets and ":secret key packet:" not in packets
    armored = (tree / "omero-web-deb.asc").read_text()
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    root = tmp_path / "busy"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["repo", "init", "--repo", str(root)])
    assert result.exit_code == 7 and "not an empty folder" in result.output
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


def test_init_that_fails_leaves_nothing(tmp_path: Path, runner: Runner) -> None:
    root = tmp_path / "r"
    with pytest.raises(CommandFailed):
        init_repository(root, SUITES, None, SigningOptions(), runner, key_expiry="someday")
    assert not root.exists()


# --- publish ---------------------------------------------------------------


def test_publish_keeps_every_version_in_its_suite(
    repo: Path, debs: dict[str, Path], runner: Runner
) -> None:
    publish(repo, [debs["r1-deb12"], debs["r1-deb13"]], SigningOptions(), runner)
    result = publish(repo, [debs["r2-deb12"]], SigningOptions(), runner)
    assert [i.version for i in result.added] == ["5.33.2-2~deb12"]
    versions = published_versions(repo)
    assert versions == {
        "bookworm": [("omero-web", "5.33.2-1~deb12"), ("omero-web", "5.33.2-2~deb12")],
        "trixie": [("omero-web", "5.33.2-1~deb13")],
    }
    tree = served(repo)
    for stanza in packages_of(repo, "bookworm"):
        pool_file = tree / stanza["Filename"]
        assert stanza["Filename"].startswith("pool/bookworm/omero-web/")
        assert hashlib.sha256(pool_file.read_bytes()).hexdigest() == stanza["SHA256"]


def test_release_lists_the_indices_it_signs(
    repo: Path, debs: dict[str, Path], runner: Runner
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    dists = served(repo) / "dists" / "bookworm"
    assert gpgv(served(repo) / KEYRING_NAME, dists / "InRelease").returncode == 0
    release = Release((dists / "Release").read_text())
    listed = {entry["name"]: entry["sha256"] for entry in release["SHA256"]}
    assert set(listed) == {"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz"}
    for name, digest in listed.items():
        assert hashlib.sha256((dists / name).read_bytes()).hexdigest() == digest
    assert "MD5Sum" not in release and "SHA1" not in release


def test_indices_of_the_previous_publish_stay_reachable_by_hash(
    repo: Path, debs: dict[str, Path], runner: Runner
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    old_release = Release((served(repo) / "dists" / "bookworm" / "Release").read_text())
    publish(repo, [debs["r2-deb12"]], SigningOptions(), runner)
    dists = served(repo) / "dists" / "bookworm"
    for entry in old_release["SHA512"]:
        name = entry["name"]
        by_hash = dists / Path(name).parent / "by-hash" / "SHA512" / entry["sha512"]
        assert by_hash.is_file(), f"{name} of the previous publish is gone"


def test_publishing_the_same_file_again_changes_nothing(
    repo: Path, debs: dict[str, Path], runner: Runner
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    before = snapshot(repo)
    result = publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    assert result.added == () and len(result.unchanged) == 1
    assert snapshot(repo) == before


def test_old_trees_are_pruned(repo: Path, debs: dict[str, Path], runner: Runner) -> None:
    for name in ("r1-deb12", "r2-deb12", "r1-deb13"):
        publish(repo, [debs[name]], SigningOptions(), runner)
    trees = sorted(p.name for p in (repo / "releases").iterdir())
    assert trees == ["000003", "000004"]
    assert served(repo).name == "000004"


@pytest.mark.parametrize("failing_step", ["--export", "--clearsign", "--detach-sign", "gpgv"])
def test_a_publish_that_fails_half_way_leaves_the_served_tree(
    repo: Path, debs: dict[str, Path], runner: Runner, failing_step: str
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    before = snapshot(repo)

    class FailsAtOneStep(Runner):
        def call(self, argv, **kwargs):  # type: ignore[no-untyped-def]
            if failing_step in argv:
                raise CommandFailed(list(argv), 2, "No space left on device")
            return super().call(argv, **kwargs)

    with pytest.raises(BuildError, match="No space left on device"):
        publish(repo, [debs["r2-deb12"]], SigningOptions(), FailsAtOneStep(print))
    assert snapshot(repo) == before


def test_a_publish_that_fails_to_switch_leaves_the_served_tree(
    repo: Path, debs: dict[str, Path], runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    before = snapshot(repo)

    def replace_fails(source: str, destination: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("builder.repo.tree.os.replace", replace_fails)
    with pytest.raises(OSError, match="No space left"):
        publish(repo, [debs["r2-deb12"]], SigningOptions(), runner)
    assert snapshot(repo) == before


# --- bad input: a clear error and the repository byte-identical -------------


def invoke_publish(repo: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["repo", "publish", "--repo", str(repo), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def published(repo: Path, debs: dict[str, Path], runner: Runner) -> dict[str, bytes | str]:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    return snapshot(repo)


def test_a_file_that_is_not_a_deb(
    repo: Path, published: dict[str, bytes | str], tmp_path: Path
) -> None:
    bogus = tmp_path / "omero-web_5.33.2-3~deb12_amd64.deb"
    bogus.write_text("<html>404 Not Found</html>")
    code, output = invoke_publish(repo, str(bogus))
    assert code == 7 and "is not a Debian binary package" in output
    assert snapshot(repo) == published


def test_a_deb_for_a_suite_the_repository_does_not_serve(
    repo: Path, published: dict[str, bytes | str], debs: dict[str, Path]
) -> None:
    code, output = invoke_publish(repo, str(debs["r2-deb12"]), str(debs["r1-jammy"]))
    assert code == 7
    assert "is for jammy, which this repository does not serve" in output
    assert "repository.json" in output
    assert snapshot(repo) == published


def test_a_version_without_a_target_suffix_goes_by_its_changelog(
    repo: Path, debs: dict[str, Path], tmp_path: Path, runner: Runner
) -> None:
    deb = make_deb(tmp_path, "5.33.2-1", "trixie")
    result = publish(repo, [deb], SigningOptions(), runner)
    assert [(i.suite, i.version) for i in result.added] == [("trixie", "5.33.2-1")]


def test_a_deb_that_names_no_known_distribution(
    repo: Path, published: dict[str, bytes | str], tmp_path: Path
) -> None:
    deb = make_deb(tmp_path, "5.33.2-1", "UNRELEASED")
    code, output = invoke_publish(repo, str(deb))
    assert code == 7 and "cannot tell which distribution" in output and "~deb12" in output
    assert snapshot(repo) == published


def toolkit_deb(folder: Path, version: str = "0.1.0-1") -> Path:
    """Like python3-omero-web-deb as stdeb builds it: Architecture all, a
    plain Debian revision, and stdeb's default changelog distribution."""
    return make_deb(folder, version, "unstable", package="python3-omero-web-deb",
                    architecture="all")  # fmt: skip


def test_the_toolkit_package_goes_to_every_suite(
    repo: Path, debs: dict[str, Path], tmp_path: Path, runner: Runner
) -> None:
    toolkit = toolkit_deb(tmp_path)
    result = publish(repo, [toolkit, debs["r1-deb12"]], SigningOptions(), runner)
    assert sorted((i.package, i.suite) for i in result.added) == [
        ("omero-web", "bookworm"),
        ("python3-omero-web-deb", "bookworm"),
        ("python3-omero-web-deb", "trixie"),
    ]
    for suite in SUITES:
        served = [p for p in packages_of(repo, suite) if p["Package"] == "python3-omero-web-deb"]
        assert [(p["Version"], p["Architecture"]) for p in served] == [("0.1.0-1", "all")]
    again = publish(repo, [toolkit], SigningOptions(), runner)
    assert again.added == () and [i.suite for i in again.unchanged] == list(SUITES)


def test_a_deb_for_another_architecture(
    repo: Path, published: dict[str, bytes | str], tmp_path: Path
) -> None:
    deb = make_deb(tmp_path, "5.33.2-1~deb12", "bookworm", architecture="arm64")
    code, output = invoke_publish(repo, str(deb))
    assert code == 7 and "is for arm64" in output and "Architecture: all" in output
    assert snapshot(repo) == published


def test_a_version_that_was_published_with_other_contents(
    repo: Path, published: dict[str, bytes | str], tmp_path: Path
) -> None:
    rebuilt = make_deb(tmp_path, "5.33.2-1~deb12", "bookworm", payload="different")
    code, output = invoke_publish(repo, str(rebuilt))
    assert code == 7 and "already published" in output and "--revision" in output
    assert snapshot(repo) == published


def test_a_missing_key(
    repo: Path, published: dict[str, bytes | str], debs: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "g"
    empty.mkdir(mode=0o700)
    code, output = invoke_publish(repo, str(debs["r2-deb12"]), "--gnupghome", str(empty))
    assert code == 8 and "no usable" in output and "--gnupghome" in output
    assert snapshot(repo) == published
    stop_agent(empty)


def test_a_key_that_is_not_the_repository_s(
    repo: Path, published: dict[str, bytes | str], debs: dict[str, Path], other_key: SigningKey
) -> None:
    code, output = invoke_publish(
        repo, str(debs["r2-deb12"]), "--gnupghome", str(other_key.gnupghome)
    )
    assert code == 8 and "no usable" in output  # the repository's key is not in that home
    code, output = invoke_publish(
        repo,
        str(debs["r2-deb12"]),
        "--gnupghome",
        str(other_key.gnupghome),
        "--key",
        other_key.fingerprint,
    )
    assert code == 8 and "is not this repository's" in output and "apt would refuse" in output
    assert snapshot(repo) == published


def test_a_folder_that_is_not_a_repository(tmp_path: Path, debs: dict[str, Path]) -> None:
    code, output = invoke_publish(tmp_path / "nowhere", str(debs["r1-deb12"]))
    assert code == 7 and "repo init" in output


# --- clients ---------------------------------------------------------------


def test_client_config(repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["repo", "client-config", "--repo", str(repo), "--suite", "debian-13"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == render_sources(URL, "trixie")
    assert "Signed-By: /etc/apt/keyrings/omero-web-deb.gpg\n" in result.output
    out = tmp_path / "client"
    args = [
        "repo",
        "client-config",
        "--repo",
        str(repo),
        "--suite",
        "bookworm",
        "--url",
        "https://x/y",
        "--output",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (out / KEYRING_NAME).read_bytes() == (served(repo) / KEYRING_NAME).read_bytes()
    assert "URIs: https://x/y\n" in (out / "omero-web-deb.sources").read_text()


class Apt:
    """apt-get and apt-cache of this host, in a sandbox of their own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d",
                       "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg"):  # fmt: skip
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "var/lib/dpkg/status").touch()
        (root / "apt.conf").touch()  # not the host's /etc/apt/apt.conf

    def configure(self, repo: Path, suite: str) -> None:
        keyring = self.root / "omero-web-deb.gpg"
        shutil.copyfile(served(repo) / KEYRING_NAME, keyring)
        sources = render_sources(f"file://{repo / 'public'}", suite, keyring)  # type: ignore[arg-type]
        (self.root / "etc/apt/sources.list.d/omero-web-deb.sources").write_text(sources)

    def __call__(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        options = {
            "Dir": str(self.root) + "/", "Dir::State::status": str(self.root / "var/lib/dpkg/status"),
            "Dir::Bin::Methods": "/usr/lib/apt/methods/", "APT::Sandbox::User": "root",
            "Debug::NoLocking": "true", "APT::Architecture": "amd64", "APT::Architectures": "amd64",
        }  # fmt: skip
        argv = [tool, *(f"-o{k}={v}" for k, v in options.items()), *args]
        env = {**os.environ, "APT_CONFIG": str(self.root / "apt.conf"), "LC_ALL": "C"}
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


needs_apt = pytest.mark.skipif(not shutil.which("apt-get"), reason="needs apt-get (a Debian host)")


@needs_apt
def test_apt_reads_the_repository_and_offers_every_version(
    repo: Path, debs: dict[str, Path], runner: Runner, tmp_path: Path
) -> None:
    publish(repo, [debs["r1-deb12"], debs["r2-deb12"]], SigningOptions(), runner)
    apt = Apt(tmp_path / "apt")
    apt.configure(repo, "bookworm")
    update = apt("apt-get", "update")
    assert update.returncode == 0, update.stdout + update.stderr
    assert "W:" not in update.stdout + update.stderr
    madison = apt("apt-cache", "madison", "omero-web").stdout
    assert "5.33.2-2~deb12" in madison and "5.33.2-1~deb12" in madison


@needs_apt
def test_apt_offers_the_toolkit_beside_what_it_builds(
    repo: Path, debs: dict[str, Path], runner: Runner, tmp_path: Path
) -> None:
    publish(repo, [debs["r1-deb12"], toolkit_deb(tmp_path)], SigningOptions(), runner)
    apt = Apt(tmp_path / "apt")
    apt.configure(repo, "bookworm")
    update = apt("apt-get", "update")
    assert update.returncode == 0 and "W:" not in update.stdout + update.stderr, update.stderr
    assert "0.1.0-1" in apt("apt-cache", "madison", "python3-omero-web-deb").stdout
    assert "5.33.2-1~deb12" in apt("apt-cache", "madison", "omero-web").stdout


@needs_apt
def test_apt_refuses_a_tampered_index(
    repo: Path, debs: dict[str, Path], runner: Runner, tmp_path: Path
) -> None:
    publish(repo, [debs["r1-deb12"]], SigningOptions(), runner)
    directory = index_dir(served(repo), "bookworm")
    tampered = (directory / "Packages").read_text().replace("5.33.2-1~deb12", "5.33.2-9~deb12")
    (directory / "Packages").write_text(tampered)
    (directory / "Packages.gz").write_bytes(gzip.compress(tampered.encode()))
    apt = Apt(tmp_path / "apt")
    apt.configure(repo, "bookworm")
    update = apt("apt-get", "update")
    assert update.returncode != 0
    assert "Hash Sum mismatch" in update.stdout + update.stderr


@needs_apt
def test_apt_refuses_a_repository_signed_by_another_key(
    repo: Path, other_key: SigningKey, tmp_path: Path, runner: Runner
) -> None:
    stranger = tmp_path / "stranger"
    init_repository(
        stranger, SUITES, URL, SigningOptions(other_key.gnupghome, other_key.fingerprint), runner
    )
    apt = Apt(tmp_path / "apt")
    apt.configure(repo, "bookworm")  # trusts the repository's key ...
    sources = apt.root / "etc/apt/sources.list.d/omero-web-deb.sources"
    sources.write_text(
        sources.read_text().replace(str(repo), str(stranger))
    )  # ... reads the stranger's
    update = apt("apt-get", "update")
    assert update.returncode != 0
    assert "NO_PUBKEY" in update.stdout + update.stderr


# --- the command line, as an admin runs it -----------------------------------


def test_init_publish_list_from_the_command_line(tmp_path: Path, debs: dict[str, Path]) -> None:
    root = tmp_path / "r"
    cli = CliRunner()
    try:
        result = cli.invoke(main, ["repo", "init", "--repo", str(root), "--suite", "debian-12"])
        assert result.exit_code == 0, result.output
        assert "suites bookworm" in result.output and "signing key" in result.output
        for name in ("r1-deb12", "r2-deb12"):
            result = cli.invoke(main, ["repo", "publish", str(debs[name]), "--repo", str(root)])
            assert result.exit_code == 0, result.output
        assert "published omero-web 5.33.2-2~deb12 to bookworm" in result.output
        result = cli.invoke(main, ["repo", "list", "--repo", str(root)])
        assert result.output == (
            "bookworm:\n  omero-web 5.33.2-1~deb12\n  omero-web 5.33.2-2~deb12\n"
        )
        result = cli.invoke(
            main, ["repo", "client-config", "--repo", str(root), "--suite", "bookworm"]
        )
        assert result.exit_code == 2 and "pass --url" in result.output
    finally:
        stop_agent(root / "private" / "gnupg")


def test_init_refuses_an_unknown_suite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["repo", "init", "--repo", str(tmp_path / "r"), "--suite", "buster"]
    )
    assert result.exit_code == 2 and "unknown suite 'buster'" in result.output
    assert not (tmp_path / "r").exists()


def test_a_key_with_a_passphrase(tmp_path: Path, debs: dict[str, Path], runner: Runner) -> None:
    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    secret = tmp_path / "passphrase"
    secret.write_text("correct horse battery staple\n")
    subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
         "--passphrase-file", str(secret), "--quick-generate-key", "protected <p@localhost>",
         "ed25519", "sign", "1y"],
        check=True, capture_output=True,
    )  # fmt: skip
    stop_agent(home)  # forget the cached passphrase
    root = tmp_path / "r"
    signing = SigningOptions(home, "protected <p@localhost>", secret)
    init_repository(root, SUITES, None, signing, runner)
    stop_agent(home)
    before = snapshot(root)
    code, output = invoke_publish(root, str(debs["r1-deb12"]))
    assert code == 8 and "--passphrase-file" in output
    assert snapshot(root) == before
    code, output = invoke_publish(root, str(debs["r1-deb12"]), "--passphrase-file", str(secret))
    assert code == 0, output
    stop_agent(home)


def test_a_gnupg_home_too_deep_for_the_agent(tmp_path: Path, debs: dict[str, Path]) -> None:
    deep = tmp_path / ("d" * 100)
    result = CliRunner().invoke(main, ["repo", "init", "--repo", str(deep)])
    assert result.exit_code == 8 and "too deep" in result.output and "--gnupghome" in result.output
    assert not deep.exists()
