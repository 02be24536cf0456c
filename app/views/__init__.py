"""The sections of the page, one module each: data, set-up, run, results."""
