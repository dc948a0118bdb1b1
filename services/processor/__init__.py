"""Marks the folder so its tests are named processor.tests.* (apart from the other services')."""
