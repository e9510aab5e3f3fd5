"""Measuring accuracy: facts against brat gold, verdicts against gold verdicts, context rules
against an assertion test set; one report model rendered as tables, JSON or Markdown.
"""
