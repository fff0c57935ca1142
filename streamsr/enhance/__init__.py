"""Enhance: the SRCNN, its weights, training and evaluation."""
