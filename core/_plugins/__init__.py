"""The plugin system: the hook specifications, the plugin manager, what hooks receive."""
