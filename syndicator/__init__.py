"""syndicator: a blog's posts to Atom, RSS 2.0 and JSON Feed files and email newsletters."""

__version__ = "0.1.0"
