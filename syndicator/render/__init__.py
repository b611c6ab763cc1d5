"""Renderers: feeds (Atom, RSS, JSON Feed), their files, and newsletter digests."""
