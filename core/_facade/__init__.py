"""The facade: the blocking :class:`~liveharness.Harness` on a loop thread of its own, and the wait helpers tests use."""
