"""Bundled trial definitions, installed as package resources of `extractor`."""
