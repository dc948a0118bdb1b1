"""photolane on one machine: the embedded launcher, the AWS stand-in, test fixtures."""
