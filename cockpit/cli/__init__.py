"""Argument parsing and the headless commands: parse, run an operation through the driver, print."""
