"""The app on Reflex's dev server (``frontend = "dev"``), one harness per test."""

from __future__ import annotations

from liveharness import Harness

from . import checks

FRONTEND = "dev"


def test_a_background_counter_and_a_controlled_input_in_playwright(harness: Harness) -> None:
    checks.counter_and_input_in_playwright(harness)


def test_a_background_counter_and_a_controlled_input_in_selenium(harness: Harness) -> None:
    checks.counter_and_input_in_selenium(harness)


def test_the_backend_reads_and_changes_a_clients_state(harness: Harness) -> None:
    checks.backend_reads_and_changes_a_clients_state(harness)
