"""Marks the folder so its tests are named deploy.tests.* (apart from the services')."""
