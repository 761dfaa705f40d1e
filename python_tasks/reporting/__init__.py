"""Shared pieces of ECBridge's HTML reports: inline SVG charts (no JavaScript) and figure formatting."""
