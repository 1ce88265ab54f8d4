"""The media pipeline: probe → thumbnails → fingerprint → near-duplicates → shots → proxy."""
