"""Fixture sites served over real HTTP on loopback, with their truth written down."""
