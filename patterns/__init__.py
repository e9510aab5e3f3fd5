"""Rules and vocabularies as data, installed as package resources of `extractor`."""
