"""Test helpers importable from any test: ``from support.tsa import start_tsa``.

Importable because pytest's ``pythonpath`` setting puts ``tests/`` on ``sys.path``.
"""
