"""Destination-independent audience sync: plan, guardrails, ledger, and the Destination seam."""
