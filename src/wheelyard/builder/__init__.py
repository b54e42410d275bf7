"""Building wheels: container engines, builder images, cibuildwheel jobs and their records."""
