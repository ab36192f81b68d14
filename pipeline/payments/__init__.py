"""Payments domain: one state machine for every provider, fed by the domain inbox."""
