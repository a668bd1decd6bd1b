"""Compliance: equal-pay impact, jurisdiction rules and record retention. Not legal advice."""
