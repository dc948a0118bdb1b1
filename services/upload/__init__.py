"""Marks the folder so its tests are named upload.tests.* (apart from the other services')."""
