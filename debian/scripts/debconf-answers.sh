# shellcheck shell=sh
# omero-web's debconf answers: their defaults, the rule each must follow and
# how they become @CONFIG_DIR@/10-debconf.omero.
#
# One copy, two users.  postinst sources it from @LIB_DIR@/.  The
# config script runs before the package is unpacked (apt's preconfigure), so
# it cannot source anything from the package: builder/debian_tree.py pastes
# this file into it in place of its marker line.  So: functions only, no debconf
# calls, nothing run at load time.  tests/unit runs each function with sh.

# Every answer, in the order the config script asks.
# shellcheck disable=SC2034 # used by the config script and postinst
OMERO_WEB_ANSWERS="server_list manage_nginx http_port server_names default_site https https_port hsts trusted_proxies prefix workers worker_class threads worker_connections session_store redis_url redis_password cors_origins"

# OMERO.web's own application server port (omero.web.application_server.port);
# `omero web config nginx` refuses an HTTP port equal to it.
OMERO_WEB_APP_PORT=4080

NL='
'

# matches ERE VALUE: VALUE is one line and matches ERE as a whole.
matches() {
    case $2 in *"$NL"*) return 1 ;; esac
    printf '%s\n' "$2" | grep -Eqx -e "$1"
}

# words VALUE: VALUE's blank- or comma-separated words, one a line (never
# through the shell's word splitting: a server name may be *.example.org).
words() {
    printf '%s\n' "$1" | tr -s ', \t' '\n' | grep -v '^$' || true
}

# every_word_matches ERE VALUE: VALUE is one line of at least one word, and
# each of its words matches ERE.
every_word_matches() {
    case $2 in *"$NL"*) return 1 ;; esac
    [ -n "$(words "$2")" ] && ! words "$2" | grep -Eqvx -e "$1"
}

# A host: a DNS name or IPv4 address, or an IPv6 address in brackets.
HOST_ERE='([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])'

valid_port() {
    matches '[1-9][0-9]{0,4}' "$1" && [ "$1" -le 65535 ]
}

valid_http_port() {
    valid_port "$1" && [ "$1" -ne "$OMERO_WEB_APP_PORT" ]
}

# valid_count VALUE MAX: a whole number from 1 to MAX, no leading zero.
valid_count() {
    matches '[1-9][0-9]*' "$1" && [ "${#1}" -le "${#2}" ] && [ "$1" -le "$2" ]
}

valid_boolean() {
    case $1 in true | false) return 0 ;; esac
    return 1
}

# OMERO.servers: comma-separated HOST[:PORT[:NAME]], e.g.
# "localhost:4064:omero, [2001:db8::1]:4064:archive".
valid_server_list() {
    [ -n "$1" ] || return 1
    case $1 in *"$NL"*) return 1 ;; esac
    _rest=$1,
    while [ -n "$_rest" ]; do
        _entry=${_rest%%,*}
        _rest=${_rest#*,}
        parse_server "$_entry" || return 1
    done
}

# parse_server ENTRY: set _host, _port and _name from HOST[:PORT[:NAME]]
# (surrounding blanks ignored); fail if ENTRY is not one.
parse_server() {
    _entry=$(printf '%s' "$1" | sed 's/^[[:blank:]]*//; s/[[:blank:]]*$//')
    case $_entry in
        \[*) _host=${_entry%%]*}] ;;
        *) _host=${_entry%%:*} ;;
    esac
    _tail=${_entry#"$_host"}
    matches "$HOST_ERE" "$_host" || return 1
    _port=4064
    _name=$(printf '%s' "$_host" | tr -d '[]')
    case $_tail in
        '') ;;
        :*:*)
            _port=${_tail#:}
            _name=${_port#*:}
            _port=${_port%%:*}
            ;;
        :*) _port=${_tail#:} ;;
        *) return 1 ;;
    esac
    # Any name the login page can show, but for the list's own separator
    # and what would need escaping in JSON: "OMERO Production" is fine.
    valid_port "$_port" && matches '[^,"\\[:cntrl:]]+' "$_name"
}

# server_list_json ANSWER: the omero.web.server_list value, a JSON list of
# [host, port, name].  ANSWER must be valid.
server_list_json() {
    _json=
    _rest=$1,
    while [ -n "$_rest" ]; do
        _entry=${_rest%%,*}
        _rest=${_rest#*,}
        parse_server "$_entry"
        _json="$_json${_json:+, }[\"$(printf '%s' "$_host" | tr -d '[]')\", $_port, \"$_name\"]"
    done
    printf '[%s]\n' "$_json"
}

# nginx server_name values: blank-separated names, each a host name, an
# address, "_" or a wildcard name (*.example.org, www.example.*).
valid_server_names() {
    every_word_matches '(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*(\.\*)?' "$1"
}

# Debian's self-signed certificate (ssl-cert), for first tests.
SNAKEOIL_CERTIFICATE=/etc/ssl/certs/ssl-cert-snakeoil.pem
SNAKEOIL_KEY=/etc/ssl/private/ssl-cert-snakeoil.key

# tls_problem CERTIFICATE KEY: why nginx could not serve HTTPS with these
# files, as a sentence; nothing when it can.  nginx's master (root) reads
# them.  Without openssl (the config script, run before the package's
# dependencies are unpacked) only the files are checked; postinst checks
# again with it.
tls_problem() {
    for _file in "$1" "$2"; do
        case $_file in
            /*) ;;
            *) echo "$_file is not an absolute path" && return 0 ;;
        esac
        [ -f "$_file" ] || { echo "$_file does not exist" && return 0; }
        [ -r "$_file" ] || { echo "$_file cannot be read" && return 0; }
    done
    command -v openssl >/dev/null 2>&1 || return 0
    if ! openssl x509 -in "$1" -noout 2>/dev/null; then
        echo "$1 holds no PEM certificate"
    elif ! openssl x509 -in "$1" -noout -checkend 0 >/dev/null 2>&1; then
        echo "the certificate in $1 has expired ($(openssl x509 -in "$1" -noout -enddate 2>/dev/null))"
    elif ! _public=$(openssl pkey -in "$2" -passin pass: -pubout 2>/dev/null); then
        echo "$2 holds no PEM private key without a passphrase"
    elif [ "$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" != "$_public" ]; then
        echo "the key in $2 does not match the certificate in $1"
    fi
    return 0
}

# https_files ANSWER: the certificate and key an https answer names, as
# "CERTIFICATE KEY" (snakeoil: ssl-cert's); nothing for "none".
https_files() {
    case $1 in
        none) ;;
        snakeoil) echo "$SNAKEOIL_CERTIFICATE $SNAKEOIL_KEY" ;;
        *) echo "$1" ;;
    esac
}

# https: "none", "snakeoil" (ssl-cert's self-signed certificate, made if
# missing), or "CERTIFICATE KEY": two absolute paths (no blanks) that nginx
# can serve with.
valid_https() {
    case $1 in none | snakeoil) return 0 ;; esac
    matches '/[^[:space:]]+ /[^[:space:]]+' "$1" && [ -z "$(tls_problem "${1% *}" "${1#* }")" ]
}

# answer_problem NAME VALUE: why VALUE is refused, beyond the question's
# rule (the certificate and key checks); nothing otherwise.
answer_problem() {
    case $1 in
        https)
            case $2 in none | snakeoil) ;; *' '*) tls_problem "${2% *}" "${2#* }" ;; esac
            ;;
    esac
}

# Trusted proxies: empty, or IPv4/IPv6 addresses or CIDR ranges separated
# by blanks or commas (nginx's set_real_ip_from and geo).
valid_trusted_proxies() {
    [ -z "$1" ] ||
        every_word_matches '([0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?)' "$1"
}

# URL prefix: empty (OMERO.web at the site's root) or /a/path, with its
# leading slash and without a trailing one.
valid_prefix() {
    [ -z "$1" ] || matches '(/[A-Za-z0-9._~-]+)+' "$1"
}

# gunicorn workers: "auto" or 1 to 999.
valid_workers() {
    [ "$1" = auto ] || valid_count "$1" 999
}

# auto_workers: (2 x cores) + 1, gunicorn's own advice and upstream's.
auto_workers() {
    _cores=$(nproc 2>/dev/null || echo 1)
    echo $((2 * _cores + 1))
}

valid_worker_class() {
    case $1 in sync | gevent) return 0 ;; esac
    return 1
}

valid_session_store() {
    case $1 in files | redis) return 0 ;; esac
    return 1
}

# redis://[USER@]HOST[:PORT][/DB], rediss://..., or unix:///PATH[?db=DB].
# A password is refused here: debconf keeps this answer in its
# world-readable config.dat; redis_password, a password question, holds it.
valid_redis_url() {
    matches "rediss?://([A-Za-z0-9._~-]+@)?$HOST_ERE(:[0-9]{1,5})?(/[0-9]{1,2})?" "$1" ||
        matches 'unix://(/[A-Za-z0-9._~-]+)+(\?db=[0-9]{1,2})?' "$1"
}

# A Redis password: anything on one line without control characters, or
# nothing.  A password-type question: debconf keeps it in its root-only
# passwords.dat, never in the world-readable config.dat.
valid_redis_password() {
    matches '[^[:cntrl:]]*' "$1"
}

# secret_answer NAME: an answer never printed, nor recorded in
# @STATE_DIR@/debconf-applied (world-readable).
secret_answer() {
    [ "$1" = redis_password ]
}

# shown_answer NAME VALUE: VALUE as a message may show it.
shown_answer() {
    if secret_answer "$1"; then
        echo "(hidden)"
    else
        printf '%s\n' "$2"
    fi
}

# CORS: empty (off), "*" (any origin) or blank/comma-separated origins,
# each SCHEME://HOST[:PORT] as django-cors-headers requires.
valid_cors_origins() {
    case $1 in '' | '*') return 0 ;; esac
    every_word_matches "https?://$HOST_ERE(:[0-9]{1,5})?" "$1"
}

# valid_answer NAME VALUE
valid_answer() {
    case $1 in
        server_list) valid_server_list "$2" ;;
        manage_nginx | default_site | hsts) valid_boolean "$2" ;;
        http_port | https_port) valid_http_port "$2" ;;
        https) valid_https "$2" ;;
        trusted_proxies) valid_trusted_proxies "$2" ;;
        server_names) valid_server_names "$2" ;;
        prefix) valid_prefix "$2" ;;
        workers) valid_workers "$2" ;;
        worker_class) valid_worker_class "$2" ;;
        threads) valid_count "$2" 999 ;;
        worker_connections) valid_count "$2" 100000 ;;
        session_store) valid_session_store "$2" ;;
        redis_url) valid_redis_url "$2" ;;
        redis_password) valid_redis_password "$2" ;;
        cors_origins) valid_cors_origins "$2" ;;
        *) return 1 ;;
    esac
}

# default_answer NAME: what a noninteractive install with no answers uses;
# the templates' defaults are the same.
default_answer() {
    case $1 in
        server_list) echo "localhost:4064:omero" ;;
        manage_nginx) echo true ;;
        http_port) echo 80 ;;
        server_names) default_server_names ;;
        default_site) echo false ;;
        https) echo none ;;
        https_port) echo 443 ;;
        hsts) echo false ;;
        trusted_proxies) echo "" ;;
        prefix) echo "" ;;
        workers) echo auto ;;
        worker_class) echo sync ;;
        threads) echo 1 ;;
        worker_connections) echo 1000 ;;
        session_store) echo files ;;
        redis_url) echo "redis://127.0.0.1:6379/0" ;;
        redis_password) echo "" ;;
        cors_origins) echo "" ;;
    esac
}

# localhost and this host's name: the walkthrough's server_name.
default_server_names() {
    _fqdn=$(hostname -f 2>/dev/null || hostname 2>/dev/null || true)
    if [ -n "$_fqdn" ] && [ "$_fqdn" != localhost ] && valid_server_names "$_fqdn"; then
        echo "localhost $_fqdn"
    else
        echo localhost
    fi
}

# nginx's configuration folder (a unit test's copy in the tests).
OMERO_WEB_NGINX_DIR=/etc/nginx

# stock_debian_site: Debian's default site is enabled (the link nginx's
# postinst makes) and is byte for byte what its package installed: its md5
# is the one dpkg recorded for the conffile.
stock_debian_site() {
    _site=$OMERO_WEB_NGINX_DIR/sites-available/default
    _link=$OMERO_WEB_NGINX_DIR/sites-enabled/default
    [ -L "$_link" ] && [ -f "$_site" ] || return 1
    [ "$(readlink -f "$_link")" = "$(readlink -f "$_site")" ] || return 1
    _owner=$(dpkg-query -S /etc/nginx/sites-available/default 2>/dev/null) || return 1
    _owner=${_owner%%:*}
    _owner=${_owner%%,*}
    _recorded=$(dpkg-query -W -f='${Conffiles}\n' "$_owner" 2>/dev/null |
        awk '$1 == "/etc/nginx/sites-available/default" { print $2 }')
    [ -n "$_recorded" ] && [ "$(md5sum <"$_site" | cut -d ' ' -f 1)" = "$_recorded" ]
}

# other_default_servers: the enabled configuration files, but for Debian's
# default site and ours, with a "default_server" line.
other_default_servers() {
    for _file in "$OMERO_WEB_NGINX_DIR"/sites-enabled/* "$OMERO_WEB_NGINX_DIR"/conf.d/*.conf; do
        case ${_file##*/} in default | omero-web) continue ;; esac
        [ -f "$_file" ] || continue
        grep -Eq '^[[:space:]]*listen[[:space:]][^#]*default_server' "$_file" && echo "$_file"
    done
    return 0
}

# default_site_finding: why default_site is suggested (exit 0: true) or not
# (1), as a sentence for the question.  OMERO.web takes over only from
# Debian's own untouched default site: a site the admin changed or wrote is
# theirs.
default_site_finding() {
    _others=$(other_default_servers | paste -s -d ' ' -)
    if [ -n "$_others" ]; then
        echo "On this host $_others claims default_server: the suggestion is to leave it so."
        return 1
    fi
    if [ -e "$OMERO_WEB_NGINX_DIR/sites-enabled/default" ] && ! stock_debian_site; then
        echo "On this host Debian's default site was changed since nginx installed it: the suggestion is to leave it alone."
        return 1
    fi
    echo "On this host Debian's default site is nginx's own, unchanged (or disabled): the suggestion is to accept."
    return 0
}

# What postinst last applied, as NAME=VALUE lines: read, never sourced.
OMERO_WEB_APPLIED=@STATE_DIR@/debconf-applied

applied_answer() {
    [ -r "$OMERO_WEB_APPLIED" ] || return 1
    _line=$(grep -m 1 "^$1=" "$OMERO_WEB_APPLIED") || return 1
    printf '%s\n' "${_line#*=}"
}

# fallback_answer NAME: what replaces a bad answer: the one last applied if
# it is valid, else the default.
fallback_answer() {
    if _good=$(applied_answer "$1") && valid_answer "$1" "$_good"; then
        printf '%s\n' "$_good"
    else
        default_answer "$1"
    fi
}

# error_template NAME: the debconf error shown when NAME's answer breaks
# its rule.
error_template() {
    case $1 in
        http_port | https_port) echo omero-web/invalid_port ;;
        https) echo omero-web/invalid_https ;;
        trusted_proxies) echo omero-web/invalid_trusted_proxies ;;
        server_list) echo omero-web/invalid_server_list ;;
        server_names) echo omero-web/invalid_server_names ;;
        prefix) echo omero-web/invalid_prefix ;;
        workers | threads | worker_connections) echo omero-web/invalid_number ;;
        redis_url) echo omero-web/invalid_redis_url ;;
        redis_password) echo omero-web/invalid_redis_password ;;
        cors_origins) echo omero-web/invalid_cors_origins ;;
        *) echo omero-web/invalid_choice ;;
    esac
}

# quote VALUE: VALUE as one word for `omero load`, which splits each line
# with Python's shlex.
quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# json_escape VALUE: VALUE inside a JSON string's quotes (no control
# characters: the answers that reach here have none).
json_escape() {
    printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'
}

# public_origins PORT: https://NAME[:PORT] for each server name a browser
# can send as its Origin ("_" and www.example.* cannot be), as JSON.
public_origins() {
    _suffix=
    [ "$1" = 443 ] || _suffix=:$1
    # shellcheck disable=SC2154 # set by the caller
    words "$answer_server_names" | grep -v -e '^_$' -e '\.\*$' |
        sed "s|.*|\"https://&$_suffix\"|" | paste -s -d , | sed 's/,/, /g; s/.*/[&]/'
}

# render_transport: the drop-in's lines for HTTPS (nginx terminates TLS) or
# a TLS-terminating proxy in front: cookies sent over HTTPS only, the
# origins Django's CSRF check accepts a form from, and the forwarded scheme
# (and, from a proxy, host) believed: nginx sets them itself on every
# request (omero_web_nginx_tls.py).  Neither: all unset.
render_transport() {
    # shellcheck disable=SC2154 # answer_* are set by the caller
    if [ "$answer_manage_nginx" = true ] && [ "${answer_https:-none}" != none ]; then
        _public_port=$answer_https_port
    elif [ "$answer_manage_nginx" = true ] && [ -n "$answer_trusted_proxies" ]; then
        _public_port=443
    else
        for _key in session_cookie_secure csrf_cookie_secure csrf_trusted_origins \
            secure_proxy_ssl_header use_x_forwarded_host; do
            echo "config set omero.web.$_key"
        done
        return 0
    fi
    echo "config set omero.web.session_cookie_secure true"
    echo "config set omero.web.csrf_cookie_secure true"
    echo "config set omero.web.csrf_trusted_origins $(quote "$(public_origins "$_public_port")")"
    echo "config set omero.web.secure_proxy_ssl_header '[\"HTTP_X_FORWARDED_PROTO\", \"https\"]'"
    if [ -n "$answer_trusted_proxies" ]; then
        echo "config set omero.web.use_x_forwarded_host true"
    else
        echo "config set omero.web.use_x_forwarded_host"
    fi
}

# render_dropin: the text of 10-debconf.omero from the answer_NAME
# variables (all valid).  Every key debconf owns is set or, where the
# answer means "upstream's default", removed (`config set KEY` with no
# value), so switching an option off leaves nothing behind in config.xml.
render_dropin() {
    # shellcheck disable=SC2154 # answer_* are set by the caller
    {
        echo "# Written by omero-web's postinst from its debconf answers; do not edit."
        echo "# Change these with: dpkg-reconfigure omero-web"
        echo "# To override one, or to set anything else, put omero CLI lines"
        echo "# (config set KEY VALUE) in a later file, e.g. 50-local.omero: every"
        echo "# @CONFIG_DIR@/*.omero file is loaded in name order before each start."
        echo "config set omero.web.server_list $(quote "$(server_list_json "$answer_server_list")")"
        # Not a question: the static files this package ships (collected
        # when it was built), which nginx serves.
        echo "config set omero.web.static_root @STATIC_DIR@"
        if [ -n "$answer_prefix" ]; then
            echo "config set omero.web.prefix $(quote "$answer_prefix")"
            echo "config set omero.web.static_url $(quote "$answer_prefix/static/")"
        else
            echo "config set omero.web.prefix"
            echo "config set omero.web.static_url"
        fi
        _workers=$answer_workers
        [ "$_workers" != auto ] || _workers=$(auto_workers)
        echo "config set omero.web.wsgi_workers $_workers"
        echo "config set omero.web.wsgi_worker_class $answer_worker_class"
        if [ "$answer_worker_class" = gevent ]; then
            echo "config set omero.web.wsgi_threads"
            echo "config set omero.web.wsgi_worker_connections $answer_worker_connections"
        else
            echo "config set omero.web.wsgi_threads $answer_threads"
            echo "config set omero.web.wsgi_worker_connections"
        fi
        if [ "$answer_session_store" = redis ]; then
            echo "config set omero.web.session_engine django.contrib.sessions.backends.cache"
            _options=
            if [ -n "$answer_redis_password" ]; then
                _options=", \"OPTIONS\": {\"PASSWORD\": \"$(json_escape "$answer_redis_password")\"}"
            fi
            # printf, not echo: dash's echo reads backslashes in a password.
            printf '%s\n' "config set omero.web.caches $(quote "{\"default\": {\"BACKEND\": \"django_redis.cache.RedisCache\", \"LOCATION\": \"$answer_redis_url\"$_options}}")"
        else
            echo "config set omero.web.session_engine django.contrib.sessions.backends.file"
            echo "config set omero.web.caches"
        fi
        render_transport
        case $answer_cors_origins in
            '')
                echo "config set omero.web.cors_origin_whitelist"
                echo "config set omero.web.cors_origin_allow_all"
                ;;
            *)
                # upstream's CORS recipe; `append --set` adds each entry once.
                echo "config append --set omero.web.apps '\"corsheaders\"'"
                echo "config append --set omero.web.middleware '{\"index\": 0.5, \"class\": \"corsheaders.middleware.CorsMiddleware\"}'"
                echo "config append --set omero.web.middleware '{\"index\": 10, \"class\": \"corsheaders.middleware.CorsPostCsrfMiddleware\"}'"
                if [ "$answer_cors_origins" = '*' ]; then
                    echo "config set omero.web.cors_origin_whitelist"
                    echo "config set omero.web.cors_origin_allow_all true"
                else
                    _origins=$(words "$answer_cors_origins" | sed 's/.*/"&"/' | paste -s -d ,)
                    echo "config set omero.web.cors_origin_whitelist $(quote "[$_origins]")"
                    echo "config set omero.web.cors_origin_allow_all"
                fi
                ;;
        esac
    }
}
