"""Least privilege, proven: the task roles against the AWS calls the services make (test_grants.py)."""
