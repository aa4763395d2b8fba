"""Helpers shared by the test modules: one way to wait, app and object builders, CLI runners,
the screenshot generator and the CI skip allow-list.

Imported as ``tests.support.<module>`` (the repository root is on ``sys.path`` through the
``pythonpath`` pytest option), so no test module ever imports another test module.
"""
