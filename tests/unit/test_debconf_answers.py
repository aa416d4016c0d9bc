"""The debconf answers' checks, defaults and drop-in rendering
(debian/scripts/debconf-answers.sh), run with sh as postinst and the config
script run them; and the templates they refer to."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Deb822

from tests.unit.rendered_scripts import rendered_text

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "debian" / "omero-web.templates"


@pytest.fixture(scope="module", autouse=True)
def answers_script(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The script as the package ships it (installed paths filled in)."""
    global ANSWERS
    ANSWERS = tmp_path_factory.mktemp("scripts") / "debconf-answers.sh"
    ANSWERS.write_text(rendered_text("scripts/debconf-answers.sh"))


def sh(script: str, **variables: str) -> subprocess.CompletedProcess[str]:
    assignments = "".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items())
    return subprocess.run(
        ["sh", "-c", f". {shlex.quote(str(ANSWERS))}\n{assignments}{script}"],
        capture_output=True,
        text=True,
    )


def is_valid(name: str, value: str) -> bool:
    return sh('valid_answer "$n" "$v"', n=name, v=value).returncode == 0


def templates() -> dict[str, Deb822]:
    with TEMPLATES.open() as f:
        return {t["Template"]: t for t in Deb822.iter_paragraphs(f)}


def answer_names() -> list[str]:
    return sh('echo "$OMERO_WEB_ANSWERS"').stdout.split()


GOOD = {
    "http_port": ["80", "8080", "1", "65535"],
    "server_list": [
        "localhost:4064:omero",
        "omero.example.org",
        "omero.example.org:4064",
        "a.example.org:4064:one, b.example.org:14064:two",
        "[2001:db8::1]:4064:v6",
        "192.0.2.10:4064:lab",
        "localhost:4064:OMERO Production",
        "omero.example.org:4064:name:with:colons",
        "[2001:db8::1]:4064",
        "[2001:db8::1]",
    ],
    "server_names": [
        "localhost",
        "localhost web.example.org",
        "*.example.org",
        "www.example.*",
        "_",
    ],
    "prefix": ["", "/omero", "/a/b", "/omero-web_1.0~x"],
    "workers": ["auto", "1", "5", "999"],
    "threads": ["1", "8"],
    "worker_connections": ["1000", "100000"],
    "worker_class": ["sync", "gevent"],
    "session_store": ["files", "redis"],
    "redis_url": [
        "redis://127.0.0.1:6379/0",
        "redis://redis.example.org",
        "rediss://web@redis.example.org:6380/1",
        "redis://[::1]:6379",
        "unix:///run/redis/redis-server.sock",
        "unix:///run/redis/redis-server.sock?db=2",
    ],
    "redis_password": ["", "s3cret", 'with "quotes", \\ and blanks'],
    "https": ["none", "snakeoil"],
    "https_port": ["443", "8443"],
    "hsts": ["true", "false"],
    "trusted_proxies": ["", "192.0.2.10", "10.0.0.0/8 2001:db8::/32", "192.0.2.1, ::1"],
    "cors_origins": [
        "",
        "*",
        "https://viewer.example.org",
        "https://a.example.org, http://b.example.org:8080",
        "https://a.example.org https://b.example.org",
    ],
    "manage_nginx": ["true", "false"],
    "default_site": ["true", "false"],
}

BAD = {
    # The issue's own cases first.
    "http_port": [
        "0",
        "70000",
        "abc",
        "",
        "080",
        "-1",
        " 80",
        "80 ",
        "4080",
        "99999999999999999999",
    ],
    "prefix": ["omero", "/omero/", "/", "//omero", "/om ero", "/omero;", "/$x"],
    "server_list": [
        "",
        "localhost:0",
        "localhost:abc",
        "localhost:4064:",
        'localhost:4064:a"b',
        "localhost:4064:a\\b",
        "localhost:4064:a\tb",
        "a,,b",
        "a,",
        "bad host",
        "[::1",
        "-leading.example.org",
        '[["localhost", 4064, "omero"]]',
        "localhost:4064:omero\nother",
    ],
    "redis_url": [
        "",
        "127.0.0.1:6379",
        "http://127.0.0.1:6379",
        "redis://",
        "redis://:secret@127.0.0.1",
        "redis://user:secret@127.0.0.1",
        "redis://h:6379/0/extra",
        "redis://h:6379/abc",
        "unix://relative/path",
    ],
    "workers": ["0", "-1", "1000", "abc", "", "auto ", "01"],
    "threads": ["0", "abc", "1000", ""],
    "worker_connections": ["0", "100001", "many"],
    "server_names": ["", "a;b", "a{", "*", "a$b", "a'b", "x\ny"],
    "redis_password": ["two\nlines", "a\tb"],
    "https": ["", "yes", "/no/such.pem /no/such.key", "relative.pem key.pem", "/a.pem"],
    "https_port": ["0", "4080", "https"],
    "hsts": ["yes", ""],
    "trusted_proxies": ["proxy.example.org", "10.0.0.0/8;", "*"],
    "cors_origins": [
        "viewer.example.org",
        "https://a/b",
        "https://*.x",
        "ftp://a",
        ",",
        "*, https://a",
    ],
    "worker_class": ["", "eventlet", "Sync"],
    "session_store": ["", "db", "memcached"],
    "manage_nginx": ["", "yes", "1"],
    "default_site": ["", "no"],
}


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, vs in GOOD.items() for v in vs], ids=repr
)
def test_accepts(name: str, value: str) -> None:
    assert is_valid(name, value)


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, vs in BAD.items() for v in vs], ids=repr)
def test_refuses(name: str, value: str) -> None:
    assert not is_valid(name, value)


def test_every_answer_has_good_and_bad_cases() -> None:
    assert set(answer_names()) == set(GOOD) == set(BAD)


def test_checks_never_expand_file_name_patterns(tmp_path: Path) -> None:
    (tmp_path / "x.example.org").touch()
    result = subprocess.run(
        ["sh", "-c", f'. {ANSWERS}; valid_server_names "*.example.org bad;" && echo accepted'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "accepted" not in result.stdout


def test_every_default_is_valid() -> None:
    for name in answer_names():
        default = sh('default_answer "$n"', n=name).stdout.rstrip("\n")
        assert is_valid(name, default), (name, default)


def test_templates_defaults_match_the_scripts() -> None:
    found = templates()
    for name in answer_names():
        template = found[f"omero-web/{name}"]
        default = sh('default_answer "$n"', n=name).stdout.rstrip("\n")
        if name == "server_names":
            # Filled in by the config script from the host's name.
            assert template.get("Default", "") == ""
            assert default.startswith("localhost")
        else:
            assert template.get("Default", "") == default, name


def test_every_error_template_exists_and_is_an_error() -> None:
    found = templates()
    for name in answer_names():
        error = sh('error_template "$n"', n=name).stdout.strip()
        assert found[error]["Type"] == "error", error
        # A secret is never shown back, not even in its error.
        shows_value = "${VALUE}" in found[error]["_Description"]
        assert shows_value != (sh('secret_answer "$n"', n=name).returncode == 0), error


def test_select_choices_match_the_checks() -> None:
    found = templates()
    for name in ("worker_class", "session_store"):
        choices = [c.strip() for c in found[f"omero-web/{name}"]["Choices"].split(",")]
        assert all(is_valid(name, c) for c in choices)


def test_templates_pot_holds_every_description() -> None:
    pot = (ROOT / "debian" / "po" / "templates.pot").read_text()
    msgids = {
        "".join(re.findall(r'"(.*)"', block)).replace('\\"', '"')
        for block in re.findall(r'^msgid ((?:".*"\n)+)', pot, flags=re.M)
    }
    for template in templates().values():
        short = template["_Description"].split("\n")[0]
        assert short in msgids, f"run debconf-updatepo: {short!r} missing from templates.pot"


def test_fallback_is_the_applied_answer_if_valid_else_the_default(tmp_path: Path) -> None:
    applied = tmp_path / "applied"
    applied.write_text("http_port=8080\nprefix=bad\n")
    run = 'OMERO_WEB_APPLIED="$a"; fallback_answer http_port; fallback_answer prefix; fallback_answer workers'
    assert sh(run, a=str(applied)).stdout == "8080\n\nauto\n"
    missing = str(tmp_path / "none")
    assert sh('OMERO_WEB_APPLIED="$a"; fallback_answer http_port', a=missing).stdout == "80\n"


def test_server_list_becomes_upstreams_json() -> None:
    out = sh(
        'server_list_json "$v"', v="localhost:4064:omero, [2001:db8::1]:14064, archive.example.org"
    ).stdout
    assert out == (
        '[["localhost", 4064, "omero"], ["2001:db8::1", 14064, "2001:db8::1"], '
        '["archive.example.org", 4064, "archive.example.org"]]\n'
    )


def test_server_names_with_blanks_and_quotes_reach_config_set_intact() -> None:
    answer = "localhost:4064:OMERO Production, omero2.example.org:4064:Jo's lab"
    lines = [line for line in dropin_commands(answer_server_list=answer) if "server_list" in line]
    assert len(lines) == 1
    words = shlex.split(lines[0])
    assert words[:3] == ["config", "set", "omero.web.server_list"]
    assert json.loads(words[3]) == [
        ["localhost", 4064, "OMERO Production"],
        ["omero2.example.org", 4064, "Jo's lab"],
    ]


def test_auto_workers_is_twice_the_cores_plus_one() -> None:
    cores = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    assert sh("auto_workers").stdout == f"{2 * cores + 1}\n"


DEFAULTS = {
    "answer_server_list": "localhost:4064:omero",
    "answer_prefix": "",
    "answer_workers": "3",
    "answer_worker_class": "sync",
    "answer_threads": "1",
    "answer_worker_connections": "1000",
    "answer_session_store": "files",
    "answer_redis_url": "redis://127.0.0.1:6379/0",
    "answer_redis_password": "",
    "answer_cors_origins": "",
}


def dropin_commands(**answers: str) -> list[str]:
    result = sh("render_dropin", **{**DEFAULTS, **answers})
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if not line.startswith("#")]


def test_dropin_with_the_defaults_sets_or_clears_every_key_debconf_owns() -> None:
    assert dropin_commands() == [
        """config set omero.web.server_list '[["localhost", 4064, "omero"]]'""",
        "config set omero.web.static_root /opt/omero/web/static",
        "config set omero.web.prefix",
        "config set omero.web.static_url",
        "config set omero.web.wsgi_workers 3",
        "config set omero.web.wsgi_worker_class sync",
        "config set omero.web.wsgi_threads 1",
        "config set omero.web.wsgi_worker_connections",
        "config set omero.web.session_engine django.contrib.sessions.backends.file",
        "config set omero.web.caches",
        "config set omero.web.session_cookie_secure",
        "config set omero.web.csrf_cookie_secure",
        "config set omero.web.csrf_trusted_origins",
        "config set omero.web.secure_proxy_ssl_header",
        "config set omero.web.use_x_forwarded_host",
        "config set omero.web.cors_origin_whitelist",
        "config set omero.web.cors_origin_allow_all",
    ]


def test_dropin_with_every_option_on() -> None:
    lines = dropin_commands(
        answer_prefix="/omero",
        answer_worker_class="gevent",
        answer_worker_connections="500",
        answer_session_store="redis",
        answer_redis_url="redis://redis.example.org:6379/1",
        answer_cors_origins="https://a.example.org, http://b.example.org:8080",
    )
    assert "config set omero.web.prefix '/omero'" in lines
    assert "config set omero.web.static_url '/omero/static/'" in lines
    assert "config set omero.web.wsgi_worker_class gevent" in lines
    assert "config set omero.web.wsgi_worker_connections 500" in lines
    assert "config set omero.web.wsgi_threads" in lines
    assert "config set omero.web.session_engine django.contrib.sessions.backends.cache" in lines
    assert (
        """config set omero.web.caches '{"default": {"BACKEND": "django_redis.cache.RedisCache", """
        """"LOCATION": "redis://redis.example.org:6379/1"}}'"""
    ) in lines
    assert "config append --set omero.web.apps '\"corsheaders\"'" in lines
    assert (
        """config set omero.web.cors_origin_whitelist '["https://a.example.org","http://b.example.org:8080"]'"""
    ) in lines
    # Each line is one omero CLI command as `omero load` splits it (shlex).
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "config" and words[1] in ("set", "append")


def test_dropin_passes_a_redis_password_as_a_json_string() -> None:
    password = """it's "quoted" \\ spaced"""
    lines = dropin_commands(answer_session_store="redis", answer_redis_password=password)
    (caches,) = [line for line in lines if "omero.web.caches" in line]
    value = json.loads(shlex.split(caches)[3])
    assert value["default"]["OPTIONS"] == {"PASSWORD": password}
    assert value["default"]["LOCATION"] == "redis://127.0.0.1:6379/0"


def test_a_secret_is_never_shown() -> None:
    assert sh('shown_answer redis_password "s3cret"').stdout == "(hidden)\n"
    assert sh('shown_answer prefix "/omero"').stdout == "/omero\n"


def test_dropin_allowing_every_origin() -> None:
    lines = dropin_commands(answer_cors_origins="*")
    assert "config set omero.web.cors_origin_allow_all true" in lines
    assert "config set omero.web.cors_origin_whitelist" in lines


def test_dropin_resolves_auto_workers() -> None:
    cores = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    assert f"config set omero.web.wsgi_workers {2 * cores + 1}" in dropin_commands(
        answer_workers="auto"
    )


def test_quote_survives_shlex() -> None:
    value = """it's "quoted" $x"""
    assert shlex.split(sh('quote "$v"', v=value).stdout) == [value]


def make_certificate(folder: Path, name: str, days: int = 30) -> tuple[Path, Path]:
    """A self-signed certificate and its key, made with openssl; DAYS < 0:
    one that has expired (`x509 -req` takes a negative -days)."""
    certificate, key, request = (folder / f"{name}.{ext}" for ext in ("pem", "key", "csr"))
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(request)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(request), "-signkey", str(key),
         "-days", str(days), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


def test_https_files_are_checked_with_openssl(tmp_path: Path) -> None:
    certificate, key = make_certificate(tmp_path, "good")
    _, other_key = make_certificate(tmp_path, "other")
    expired, expired_key = make_certificate(tmp_path, "expired", days=-1)
    assert is_valid("https", f"{certificate} {key}")

    def problem(answer: str) -> str:
        return sh('answer_problem https "$a"', a=answer).stdout.strip()

    assert problem(f"{certificate} {key}") == ""
    assert problem(f"{certificate} {other_key}") == (
        f"the key in {other_key} does not match the certificate in {certificate}"
    )
    assert problem(f"{expired} {expired_key}").startswith(
        f"the certificate in {expired} has expired"
    )
    assert problem(f"{tmp_path}/gone.pem {key}") == f"{tmp_path}/gone.pem does not exist"
    assert problem(f"{key} {key}") == f"{key} holds no PEM certificate"
    assert problem(f"{certificate} {certificate}") == (
        f"{certificate} holds no PEM private key without a passphrase"
    )
    for bad in (f"{certificate} {other_key}", f"{expired} {expired_key}"):
        assert not is_valid("https", bad)


def test_dropin_for_https_and_for_a_proxy() -> None:
    https = dropin_commands(
        answer_manage_nginx="true",
        answer_https="snakeoil",
        answer_https_port="8443",
        answer_server_names="localhost omero.example.org _",
    )
    assert "config set omero.web.session_cookie_secure true" in https
    assert "config set omero.web.csrf_cookie_secure true" in https
    assert (
        """config set omero.web.csrf_trusted_origins '["https://localhost:8443", """
        """"https://omero.example.org:8443"]'"""
    ) in https
    assert (
        """config set omero.web.secure_proxy_ssl_header '["HTTP_X_FORWARDED_PROTO", "https"]'"""
    ) in https
    assert "config set omero.web.use_x_forwarded_host" in https
    proxied = dropin_commands(
        answer_manage_nginx="true",
        answer_https="none",
        answer_trusted_proxies="10.0.0.0/8",
        answer_server_names="omero.example.org",
    )
    assert (
        """config set omero.web.csrf_trusted_origins '["https://omero.example.org"]'""" in proxied
    )
    assert "config set omero.web.use_x_forwarded_host true" in proxied
    # Not managing nginx: no HTTPS the package knows of.
    unmanaged = dropin_commands(answer_manage_nginx="false", answer_https="snakeoil")
    assert "config set omero.web.session_cookie_secure" in unmanaged
