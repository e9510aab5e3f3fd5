"""The learned assertion head (weights and settings), installed as package data of `extractor`."""
