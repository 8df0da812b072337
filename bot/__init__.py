"""Kebas: teaches and triages runners whose lower leg goes numb while running."""

__version__ = "0.1.0"
