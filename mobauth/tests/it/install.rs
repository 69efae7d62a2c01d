//! An installed `mobauth` carries its suite: `mobauth run` from an empty folder.
