"""Grading a batch of submissions with the engine (:mod:`batch`) and what it writes for staff:
the gradebook and its LMS exports (:mod:`gradebook`)."""
