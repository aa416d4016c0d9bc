"""Base image sources, tags and ages, with a fake Docker client."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import docker.errors
import pytest

from builder.images import BaseSource, base_image_tag, ensure_base_image, image_age_days
from builder.runner import Runner
from builder.targets import TARGETS


class FakeImage:
    def __init__(self, created: str) -> None:
        self.attrs: dict[str, Any] = {"Created": created}


class FakeImages:
    def __init__(self, images: dict[str, FakeImage]) -> None:
        self.images = images
        self.pulled: list[str] = []

    def get(self, tag: str) -> FakeImage:
        try:
            return self.images[tag]
        except KeyError:
            raise docker.errors.ImageNotFound(f"No such image: {tag}") from None

    def pull(self, tag: str) -> None:
        self.pulled.append(tag)

    def remove(self, tag: str) -> None:
        del self.images[tag]


class FakeDocker:
    def __init__(self, **images: FakeImage) -> None:
        self.images = FakeImages(images)


def docker_timestamp(when: datetime) -> str:
    """How `docker image inspect` writes Created: nanoseconds, Z."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "123456789Z"


def created_days_ago(days: float) -> FakeImage:
    return FakeImage(docker_timestamp(datetime.now(timezone.utc) - timedelta(days=days)))


# --- BaseSource ------------------------------------------------------------


def test_ubuntu_defaults_to_its_archive_for_every_suite():
    source = BaseSource.for_target(TARGETS["ubuntu-22.04"])
    assert (source.mirror, source.security_mirror, source.custom_mirror) == (
        "http://archive.ubuntu.com/ubuntu",
        "http://archive.ubuntu.com/ubuntu",
        False,
    )


def test_ubuntu_with_a_mirror_takes_security_updates_from_it_too():
    source = BaseSource.for_target(TARGETS["ubuntu-24.04"], "http://mirror.example/ubuntu/")
    assert (source.mirror, source.security_mirror, source.custom_mirror) == (
        "http://mirror.example/ubuntu",
        "http://mirror.example/ubuntu",
        True,
    )


def test_debian_with_a_mirror_keeps_debians_security_archive():
    source = BaseSource.for_target(TARGETS["debian-12"], "http://mirror.example/debian")
    assert (source.mirror, source.security_mirror, source.custom_mirror) == (
        "http://mirror.example/debian",
        "http://deb.debian.org/debian-security",
        True,
    )


@pytest.mark.parametrize("name", ["debian-13", "ubuntu-22.04"])
def test_a_given_security_mirror_is_used_as_given(name):
    source = BaseSource.for_target(
        TARGETS[name], "http://mirror.example/archive", "http://security.example/archive/"
    )
    assert source.security_mirror == "http://security.example/archive"


def test_debian_apt_lines_are_release_updates_and_security():
    assert BaseSource.for_target(TARGETS["debian-12"]).apt_lines() == [
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    ]


def test_ubuntu_apt_lines_carry_universe_from_the_given_mirror():
    source = BaseSource.for_target(TARGETS["ubuntu-22.04"], "http://mirror.example/ubuntu")
    assert source.apt_lines() == [
        "deb http://mirror.example/ubuntu jammy main universe",
        "deb http://mirror.example/ubuntu jammy-updates main universe",
        "deb http://mirror.example/ubuntu jammy-security main universe",
    ]


# --- base_image_tag --------------------------------------------------------

DEBIAN_12 = BaseSource.for_target(TARGETS["debian-12"])


def test_base_image_tag_names_the_target_and_is_stable():
    tag = base_image_tag(DEBIAN_12)
    repository, _, version = tag.partition(":")
    assert repository == "omero-web-deb/base"
    assert version.startswith("debian-12-") and len(version) == len("debian-12-") + 12
    assert base_image_tag(BaseSource.for_target(TARGETS["debian-12"])) == tag
    # Naming the default mirror changes no apt line, so no image either.
    assert base_image_tag(BaseSource.for_target(TARGETS["debian-12"], DEBIAN_12.mirror)) == tag


@pytest.mark.parametrize(
    "changed",
    [
        replace(DEBIAN_12, mirror="http://mirror.example/debian"),
        replace(DEBIAN_12, security_mirror="http://security.example/debian-security"),
        replace(DEBIAN_12, target=replace(DEBIAN_12.target, components=("main", "contrib"))),
        replace(DEBIAN_12, target=replace(DEBIAN_12.target, codename="trixie")),
    ],
    ids=["mirror", "security-mirror", "components", "suites"],
)
def test_base_image_tag_changes_with_any_apt_line(changed):
    assert changed.apt_lines() != DEBIAN_12.apt_lines()
    assert base_image_tag(changed) != base_image_tag(DEBIAN_12)


# --- image_age_days --------------------------------------------------------


def test_image_age_reads_dockers_nanosecond_utc_timestamp():
    client = FakeDocker(base=FakeImage("2024-03-01T12:00:00.987654321Z"))
    now = datetime(2024, 3, 11, tzinfo=timezone.utc).timestamp()
    assert image_age_days(client, "base", now=now) == 9.5


def test_image_age_reads_a_timestamp_without_fractions():
    client = FakeDocker(base=FakeImage("2024-03-01T00:00:00Z"))
    now = datetime(2024, 3, 2, 6, tzinfo=timezone.utc).timestamp()
    assert image_age_days(client, "base", now=now) == 1.25


# --- ensure_base_image -----------------------------------------------------


def test_an_old_cached_base_is_used_with_a_note_to_refresh(tmp_path):
    tag = base_image_tag(DEBIAN_12)
    client = FakeDocker(**{tag: created_days_ago(30)})
    log: list[str] = []
    result = ensure_base_image(
        client,
        DEBIAN_12,
        Runner(log=log.append),
        cache_dir=tmp_path,
    )
    assert result == tag
    assert log == [
        f"base image {tag} is cached (30.0 days old)",
        f"    note: the base image {tag} is 30 days old; build with --refresh "
        "(make deb REFRESH=1) to pick up the security updates since",
    ]
    assert client.images.pulled == []


def test_a_fresh_cached_base_is_used_without_a_note(tmp_path):
    tag = base_image_tag(DEBIAN_12)
    client = FakeDocker(**{tag: created_days_ago(2)})
    log: list[str] = []
    said: list[str] = []
    result = ensure_base_image(
        client,
        DEBIAN_12,
        Runner(log=log.append),
        cache_dir=tmp_path,
        say=said.append,
    )
    assert result == tag
    assert log == [f"base image {tag} is cached (2.0 days old)"]
    assert said == []


def test_the_refresh_note_goes_to_say_when_given(tmp_path):
    tag = base_image_tag(DEBIAN_12)
    client = FakeDocker(**{tag: created_days_ago(15)})
    log: list[str] = []
    said: list[str] = []
    ensure_base_image(
        client,
        DEBIAN_12,
        Runner(log=log.append),
        cache_dir=tmp_path,
        say=said.append,
    )
    assert log == [f"base image {tag} is cached (15.0 days old)"]
    assert len(said) == 1 and "is 15 days old; build with --refresh" in said[0]


def test_refresh_pulls_the_registry_image_instead_of_the_cached_base(tmp_path):
    tag = base_image_tag(DEBIAN_12)
    client = FakeDocker(**{tag: created_days_ago(30)})
    log: list[str] = []
    result = ensure_base_image(
        client,
        DEBIAN_12,
        Runner(log=log.append),
        cache_dir=tmp_path,
        refresh=True,
    )
    assert result == "debian:12"
    assert client.images.pulled == ["debian:12"]
    assert log == ["+ docker pull debian:12", f"+ docker rmi {tag} (refreshed by the pull)"]
    # The stale base is gone: the next build cannot fall back on it.
    assert tag not in client.images.images
