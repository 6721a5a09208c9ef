"""Pure rules of the student shuttle buses: where a bus is on its route, when it arrives, alerts."""
