"""The ``extractor`` command line; its process opts in to ``extractor.imports.prepare_process``."""

from extractor.imports import hide_pandas_from_pyarrow, prepare_process

prepare_process()  # before any command imports spaCy
hide_pandas_from_pyarrow()  # a batch's main process converts rows to Arrow, and needs no pandas
