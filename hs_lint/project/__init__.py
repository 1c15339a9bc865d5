"""What one file needs to know about the rest of its project: layout -> summaries -> index.

``layout`` finds the project root and the file an import names; ``summary`` is the plain data a
module exposes to the others, made by ``summarise`` from the module's own facts and kept by
``store``; ``index`` answers one file's questions about the others.
"""
