"""Renderers behind one interface (see :mod:`engines.base`)."""
