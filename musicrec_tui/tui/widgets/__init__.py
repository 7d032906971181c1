"""Widgets of the app: the virtual library table, the player bar and half-block pictures."""
