"""Processes: children in their own groups with output through a pipe (``child``), whole
trees ended (``trees``), the groups a harness started (``groups``), the watchdog."""
