"""Rendering a report document (JSON) as CSV, XLSX or PDF, in French or Arabic."""
