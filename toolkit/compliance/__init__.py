"""Compliance: jurisdiction rules as dated, cited data, and the checks built on them.

Nothing here is legal advice: the rules are editable data with their sources and the date each
was last checked, for a lawyer in each country to confirm.
"""
