"""Processes: children in their own groups with output through a pipe, whole trees ended, the watchdog."""
