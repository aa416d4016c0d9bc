"""The debian/ directory a build packages, rendered on the host.

Two kinds of source make it:

- debian/: the static files (rules, maintainer scripts, units, helpers), in
  which an installed path is a token, `@OMERODIR@`, filled in from
  builder/paths.py, and text shared by several files is pasted in where a
  line holds only `@NAME@` (or `# @NAME@`, to keep the source a valid
  script): see INCLUDES.  An unknown token fails the build, as Jinja's
  StrictUndefined does.
- templates/debian/*.j2: the few files that depend on the build (control,
  changelog), rendered with Jinja2.

`@` followed by lower case (nginx's `@proxy_to_app`) or by anything but a
whole upper-case name is left alone.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import jinja2

from builder.apps.bake import baked_apps, changelog_entries
from builder.config import ICEPY_VERSION, BuildConfig
from builder.errors import BuildError
from builder.paths import ARCHITECTURE, PACKAGE_NAME, path_tokens
from builder.resources import packaging_files

# Token -> the file under debian/ pasted in its place: one source for text
# that several shipped files carry.
INCLUDES = {
    # The hardening both systemd units share.
    "SYSTEMD_HARDENING": "systemd-hardening.inc",
    # The answer checks: postinst sources the installed copy; the config
    # script runs before the package is unpacked (apt's preconfigure), so it
    # carries its own.
    "DEBCONF_ANSWERS_SH": "scripts/debconf-answers.sh",
    # The config script's reader of config.xml, a Python file of its own so
    # that ruff, mypy and the unit tests see it; for the same reason as
    # above, the script carries it, in a here-document.
    "CONFIG_XML_ANSWERS_PY": "scripts/config-xml-answers.py",
}

_TOKEN = re.compile(r"@([A-Z][A-Z0-9_]*)@")
_INCLUDE_LINE = re.compile(r"^(?:# )?@([A-Z][A-Z0-9_]*)@\n", re.MULTILINE)


@dataclass(frozen=True)
class DebianFile:
    text: str
    mode: int


def fill_paths(text: str, where: str, tokens: dict[str, str] | None = None) -> str:
    """Every `@NAME@` replaced by its installed path; unknown names fail."""
    tokens = path_tokens() if tokens is None else tokens

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in tokens:
            raise BuildError(
                f"{where}: unknown token @{name}@ (known: {', '.join(sorted(tokens))}); "
                "add the path to builder/paths.py or fix the name"
            )
        return tokens[name]

    return _TOKEN.sub(replace, text)


def paste_includes(text: str, debian_dir: Path, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in INCLUDES:
            return match.group(0)  # a path token alone on a line: fill_paths' business
        included = (debian_dir / INCLUDES[name]).read_text(encoding="utf-8")
        return included if included.endswith("\n") else included + "\n"

    return _INCLUDE_LINE.sub(replace, text)


def render_static_files(debian_dir: Path) -> dict[PurePosixPath, DebianFile]:
    """Path under debian/ -> its text with includes pasted and paths filled."""
    tokens = path_tokens()
    rendered = {}
    for path in packaging_files(debian_dir):
        relative = PurePosixPath(path.relative_to(debian_dir).as_posix())
        where = f"debian/{relative}"
        text = paste_includes(path.read_text(encoding="utf-8"), debian_dir, where)
        rendered[relative] = DebianFile(
            fill_paths(text, where, tokens), path.stat().st_mode & 0o777
        )
    return rendered


def template_environment(project_root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(project_root / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_debian_templates(config: BuildConfig) -> dict[str, str]:
    """File name in debian/ -> rendered text of templates/debian/NAME.j2."""
    env = template_environment(config.project_root)
    values = {
        "package": PACKAGE_NAME,
        "architecture": ARCHITECTURE,
        "version": config.package_version,
        "omero_web_version": config.omero_web_version,
        "icepy_version": ICEPY_VERSION,
        "target": config.target,
        "maintainer": config.maintainer,
        "date": email.utils.formatdate(config.source_date_epoch, usegmt=False, localtime=False),
        "paths": path_tokens(),
        "baked_apps": [app.package for app in baked_apps(config.apps)],
        "baked_changes": changelog_entries(config.apps),
    }
    rendered = {}
    for name in env.list_templates(
        filter_func=lambda n: n.startswith("debian/") and n.endswith(".j2")
    ):
        rendered[Path(name).name.removesuffix(".j2")] = env.get_template(name).render(values)
    return rendered


def render_debian_tree(config: BuildConfig) -> dict[PurePosixPath, DebianFile]:
    """The whole debian/ directory the build packages: path -> file."""
    tree = render_static_files(config.project_root / "debian")
    for name, text in render_debian_templates(config).items():
        tree[PurePosixPath(name)] = DebianFile(text, 0o644)
    return tree
