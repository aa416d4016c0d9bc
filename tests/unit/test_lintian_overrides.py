from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from builder.debian_tree import render_static_files
from builder.lintian_overrides import for_lintian, reads_pointed_hints, widened_to

OVERRIDES = render_static_files(Path(__file__).resolve().parents[2] / "debian")[
    PurePosixPath("omero-web.lintian-overrides")
].text

# Hints as Ubuntu 22.04's lintian 2.114 printed them for this package.
JAMMY_HINTS = [
    "dir-or-file-in-opt opt/omero/web/omero-web/",
    "embedded-javascript-library opt/omero/web/venv3/lib/python3.10/site-packages/"
    "omeroweb/webgateway/static/3rdparty/jquery-3.6.2.min.js please use libjs-jquery",
    "repeated-path-segment webgateway opt/omero/web/venv3/lib/python3.10/site-packages/"
    "omeroweb/webgateway/static/webgateway/",
    "duplicate-font-file opt/omero/web/venv3/lib/python3.10/site-packages/omero/gateway/"
    "pilfonts/FreeSans.ttf also in (fonts-freefont-ttf)",
    "missing-intermediate-directory opt/",
    "unstripped-binary-or-object opt/omero/web/venv3/lib/python3.10/site-packages/numpy.libs/"
    "libscipy_openblas64_-ff651d7f.so",
]


def legacy_patterns(text):
    rules = [line.split(" ", 1) for line in text.splitlines() if line and line[0] != "#"]
    return {tag: [r[1] for r in rules if r[0] == tag] for tag, _ in rules}


def test_lintian_with_pointed_hints_gets_the_file_as_written():
    assert reads_pointed_hints("2.116.3") and reads_pointed_hints("2.122.0ubuntu2")
    assert for_lintian(OVERRIDES, "2.116.3") == OVERRIDES


def test_older_lintian_gets_overrides_that_match_its_hints():
    assert not reads_pointed_hints("2.114.0ubuntu1.9")
    legacy = for_lintian(OVERRIDES, "2.114.0ubuntu1.9")
    rules = [line for line in legacy.splitlines() if line and not line.startswith("#")]
    assert rules and not [line for line in rules if "[" in line]
    patterns = legacy_patterns(legacy)
    for hint in JAMMY_HINTS:
        tag, context = hint.split(" ", 1)
        assert any(fnmatchcase(context, p) for p in patterns[tag]), hint


def test_older_lintian_keeps_comments_and_overrides_without_a_path():
    legacy = for_lintian("# why\nunused-debconf-template omero-web/*\nfoo * [opt/x/*]\n", "2.114")
    assert legacy == "# why\nunused-debconf-template omero-web/*\nfoo *opt/x/*\n"


def test_baked_apps_get_one_override_per_tag_for_the_whole_root():
    """lintian calls an override that matches none of its tag's hints a
    mismatched-override: with apps baked in, each tag under /opt/omero/web
    gets one override for all of it (seen: 8 warnings on Ubuntu 22.04)."""
    widened = widened_to(OVERRIDES, PurePosixPath("/opt/omero/web"))
    rules = [line for line in widened.splitlines() if line and not line.startswith("#")]
    assert len(rules) == len(set(rules))
    assert "privacy-breach-generic * [opt/omero/web/*]" in rules
    assert "privacy-breach-generic * [opt/omero/web/static/*]" not in rules
    legacy = for_lintian(widened, "2.114.0")
    assert "privacy-breach-generic *opt/omero/web/*" in legacy.splitlines()
    assert "unused-debconf-template omero-web/*" in rules
