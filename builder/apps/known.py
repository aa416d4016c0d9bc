"""The OMERO.web apps this tool packages, and what each needs configured.

Each app's drop-in (/etc/omero-web/50-app-<short>.omero, a conffile) holds
the omero CLI lines its own README asks for.  Lists are extended with
`config append --set`, which adds an entry once; omero-web's apply-config
unsets every key a drop-in appends to before it loads them all again, so a
removed app's entries go (debian/scripts/omero_web_helper.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from builder.errors import UsageError

DROPIN_PRIORITY = 50  # after debconf's 10-debconf.omero, as the admin's 50-local.omero


def _append(key: str, value: object) -> str:
    return f"config append --set {key} '{json.dumps(value)}'"


def _set(key: str, value: str) -> str:
    return f"config set {key} {value}"


@dataclass(frozen=True)
class KnownApp:
    name: str  # the distribution on the package index: omero-figure
    module: str  # its Django app: omero_figure
    title: str
    summary: str  # one line for the package description
    homepage: str
    licence: str  # SPDX identifier, for debian/copyright
    # A page of its own under OMERO.web's root, which sends an anonymous
    # user to the login page: /figure/ (mapr's is the menu its drop-in
    # configures; autotag, a centre panel, has no page but its views).
    url: str
    settings: tuple[str, ...] = ()  # omero CLI lines beyond omero.web.apps
    notes: tuple[str, ...] = ()  # comment lines for the drop-in: why a setting
    # Files under the Django app's folder that the package leaves out: pages
    # no view serves, whose remote scripts lintian rightly calls a privacy
    # breach (privacy-breach-uses-embedded-file) when a browser opens them.
    unused: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        """figure: the package is omero-web-app-figure."""
        return self.name.removeprefix("omero-")

    @property
    def package(self) -> str:
        return f"omero-web-app-{self.short}"

    @property
    def dropin_name(self) -> str:
        return f"{DROPIN_PRIORITY}-app-{self.short}.omero"

    def dropin(self, version: str) -> str:
        """The drop-in's text: comments, omero.web.apps, then the settings."""
        lines = [
            f"# {self.title} {version} ({self.name}), from the {self.package} package:",
            "# omero CLI lines, loaded after debconf's drop-in before each start.",
            "# A conffile: your edits are kept on upgrade; `apt purge` removes it.",
            *(f"# {note}" for note in self.notes),
            _append("omero.web.apps", self.module),
            *self.settings,
        ]
        return "\n".join(lines) + "\n"


KNOWN_APPS: dict[str, KnownApp] = {
    app.name: app
    for app in (
        KnownApp(
            name="omero-figure",
            module="omero_figure",
            title="OMERO.figure",
            summary="figures from the images in OMERO, made in the browser",
            homepage="https://github.com/ome/omero-figure",
            licence="AGPL-3.0-or-later",
            url="/figure/",
            settings=(
                _append(
                    "omero.web.ui.top_links",
                    [
                        "Figure",
                        "figure_index",
                        {"title": "Open Figure in new tab", "target": "_blank"},
                    ],
                ),
                _append(
                    "omero.web.open_with",
                    [
                        "omero_figure",
                        "new_figure",
                        {
                            "supported_objects": ["images"],
                            "target": "_blank",
                            "label": "OMERO.figure",
                        },
                    ],
                ),
            ),
        ),
        KnownApp(
            name="omero-iviewer",
            module="omero_iviewer",
            title="OMERO.iviewer",
            summary="the image viewer of OMERO.web, with ROIs and rendering settings",
            homepage="https://github.com/ome/omero-iviewer",
            licence="AGPL-3.0-or-later",
            url="/iviewer/",
            settings=(
                _set("omero.web.viewer.view", "omero_iviewer.views.index"),
                _append(
                    "omero.web.open_with",
                    [
                        "omero_iviewer",
                        "omero_iviewer_index",
                        {
                            "supported_objects": ["images", "dataset", "well"],
                            "script_url": "omero_iviewer/openwith.js",
                            "label": "OMERO.iviewer",
                        },
                    ],
                ),
                _set("omero.web.wsgi_args", "-- '--limit-request-line 8192'"),
            ),
            notes=(
                "iviewer replaces the webclient's viewer; its ROI and rendering requests",
                "carry long query strings, beyond gunicorn's default request line (4094).",
            ),
        ),
        KnownApp(
            name="omero-parade",
            module="omero_parade",
            title="OMERO.parade",
            summary="thumbnails of datasets and plates, filtered and plotted, in the centre panel",
            homepage="https://github.com/ome/omero-parade",
            licence="AGPL-3.0-or-later",
            url="/parade/",
            # Patched (builder/patches/apps/omero-parade/): its views
            # imported distutils, which Python 3.12 removed.
            settings=(
                _append(
                    "omero.web.ui.center_plugins",
                    ["Parade", "omero_parade/init.js.html", "omero_parade"],
                ),
            ),
        ),
        KnownApp(
            name="omero-mapr",
            module="omero_mapr",
            title="OMERO.mapr",
            summary="browse images by the key-value pairs (map annotations) linked to them",
            homepage="https://github.com/ome/omero-mapr",
            licence="AGPL-3.0-or-later",
            url="/mapr/gene/",
            settings=(
                _append(
                    "omero.web.mapr.config",
                    {
                        "menu": "gene",
                        "config": {
                            "default": ["Gene Symbol"],
                            "all": ["Gene Symbol", "Gene Identifier"],
                            "ns": ["openmicroscopy.org/mapr/gene"],
                            "label": "Gene",
                        },
                    },
                ),
                _append(
                    "omero.web.ui.top_links",
                    [
                        "Genes",
                        {"viewname": "maprindex_gene", "query_string": {"experimenter": -1}},
                        {"title": "Find Gene annotations"},
                    ],
                ),
            ),
            notes=(
                "mapr needs at least one omero.web.mapr.config entry (its README): this is",
                "its README's example, for map annotations of namespace",
                "openmicroscopy.org/mapr/gene; edit it for your own keys and namespaces.",
            ),
        ),
        KnownApp(
            name="omero-autotag",
            module="omero_autotag",
            title="OMERO.autotag",
            summary="tags images from their original file names, paths and extensions",
            homepage="https://github.com/German-BioImaging/omero-autotag",
            licence="AGPL-3.0-or-later",
            url="/omero_autotag/get_items/",
            settings=(
                _append(
                    "omero.web.ui.center_plugins",
                    ["Auto Tag", "omero_autotag/auto_tag_init.js.html", "auto_tag_panel"],
                ),
            ),
        ),
        KnownApp(
            name="omero-tagsearch",
            module="omero_tagsearch",
            title="OMERO.tagsearch",
            summary="finds data by tags, refining the search as terms are entered",
            homepage="https://github.com/German-BioImaging/omero-tagsearch",
            licence="AGPL-3.0-or-later",
            url="/omero_tagsearch/",
            settings=(_append("omero.web.ui.top_links", ["Tag Search", "tagsearch"]),),
            # The chosen plugin's own demo pages (jQuery and Prototype from
            # Google's CDN); tagsearch loads chosen's script and stylesheet.
            unused=(
                "static/tagsearch/3rd-party/chosen/index.html",
                "static/tagsearch/3rd-party/chosen/index.proto.html",
            ),
        ),
    )
}


def known_app(name: str) -> KnownApp:
    """The table's entry for NAME (as the index spells it, any case, - or _)."""
    normalised = name.strip().lower().replace("_", "-")
    if normalised in KNOWN_APPS:
        return KNOWN_APPS[normalised]
    raise UsageError(
        f"{name!r} is not an OMERO.web app this tool knows how to configure; "
        f"known apps: {', '.join(KNOWN_APPS)}"
    )
