"""The daily pipeline's assets, one module per part of the graph (see DESIGN.md)."""
