"""Harvesting from MAST: TIC rows and light-curve products, through the same ingest as import."""
