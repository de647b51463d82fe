"""The `pytest11` entry point of an installed sockchaos.

It only asks pytest for sockchaos.pytest_plugin. Pointing the entry point at that module
directly would make `-p sockchaos.pytest_plugin` (the project's own test command) fail once the
package is installed: pytest would register the same module twice, under two names."""
pytest_plugins = ["sockchaos.pytest_plugin"]
