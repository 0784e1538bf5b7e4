"""Renderers behind one interface (see :mod:`engines.base`). Importing this package registers the
built-in engines; heavy dependencies (torch) are imported only when an engine is created."""
