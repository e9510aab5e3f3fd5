"""The ``extractor`` command line; its process opts in to ``extractor.imports.prepare_process``."""

from extractor.imports import prepare_process

prepare_process()  # before any command imports spaCy
