"""The internal apt repository: `omero-web-deb repo init|publish|client-config|list`.

commands.py is what the CLI calls; layout.py the files on disk; tree.py how a
new tree is built and served atomically; index.py the apt indices
(apt-ftparchive); signing.py the OpenPGP key (gpg); debinfo.py what a .deb says
about itself.
"""
