"""The web catalogue for readers (``app.WebApp``): a face over :mod:`unioncat.serving`."""
