"""The README's measured figures: how each is measured (targets), stored (``docs/figures``) and shown (blocks).

``scripts/figures.py`` is the command; ``core`` holds the JSON, provenance and README-block
machinery, ``accuracy``, ``compiler``, ``sizes`` and ``speed`` the targets and their renderers.
"""
