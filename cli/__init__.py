"""The lianxin command line: the one place that wires the parts together."""
