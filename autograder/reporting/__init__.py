"""What staff read after grading a batch: one self-contained HTML page (:mod:`html_report`)."""
