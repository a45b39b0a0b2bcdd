"""Helpers behind the book 'Understanding Victim Withdrawal in London', re-runnable.

Notebooks narrate and display; every computation they show lives in a module here.
"""
