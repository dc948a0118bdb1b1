"""Marks the folder so its tests are named notifier.tests.* (apart from the other services')."""
