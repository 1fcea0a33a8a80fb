"""Use cases: predictions for a batch of tasks and for drawn regions."""
