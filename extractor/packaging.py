"""What a saved pipeline says about its rules: each rule file, its provenance and checksum.

``meta.json``'s ``sources`` (spaCy's field for what a pipeline was built from) lists,
per component, the rule files it carries with the header each file opens with (name,
version, source, licence) and a SHA-256 of the file, so two packaged pipelines can be
compared without opening them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from spacy.language import Language

from extractor.pipeline.rule_files import RuleFileComponent
from extractor.resources import header_of, read_yaml


def describe_rules(nlp: Language) -> list[dict[str, Any]]:
    """One record per (component, rule file) of ``nlp``'s rule-reading components."""
    records = []
    for name, component in nlp.pipeline:
        if not isinstance(component, RuleFileComponent):
            continue
        for file_name in component.rule_files:
            path = component.rules_dir / file_name
            header = header_of(read_yaml(path))
            records.append(
                {
                    "component": name,
                    "file": file_name,
                    "name": header.name,
                    "version": str(header.version),
                    "source": header.source,
                    "license": header.license,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                }
            )
    return records
