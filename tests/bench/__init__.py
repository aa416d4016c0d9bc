"""`make bench`: install-to-serving against the walkthrough, rebuild time, sizes."""
