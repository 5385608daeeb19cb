"""Conformance: the platforms' documented behaviours, driven the way their docs show, against our emulators."""
