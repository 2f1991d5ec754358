"""The runtime under everything: lifecycle states and the timeline, loop threads, output tails and log routing, stack reading."""
