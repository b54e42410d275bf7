"""PEP 825 variant selection for this machine's facts: ordering variants, reading an index, choosing
a wheel (detection itself is in ``wheelyard.host``)."""
