"""The Parquet side of the lake: writing data files atomically and verifying them."""
