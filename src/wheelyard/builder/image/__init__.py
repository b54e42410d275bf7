"""Builder images: made from the catalog, found, cleaned up."""
