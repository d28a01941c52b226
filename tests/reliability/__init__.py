"""Reliability suite: faults, crashes, durability, bad input and load, against real servers on loopback."""
