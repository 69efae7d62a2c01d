//! The suite this binary carries: the feature files of the workspace's `features/` folder as
//! they were at build time (build.rs compiles them in), so an installed `mobauth run` needs no
//! folder beside it.

use runner::{EmbeddedFeatures, FeatureSource};

/// The feature files, compiled in by build.rs.
mod suite_files {
    include!(concat!(env!("OUT_DIR"), "/suite_files.rs"));
}

/// The embedded suite, its files named as a run of `--features features` from the workspace
/// root names them (`features/enrollment.feature`), so the two runs' reports compare and merge.
pub fn embedded() -> FeatureSource {
    FeatureSource::Embedded(EmbeddedFeatures { root: "features", files: suite_files::SUITE_FILES })
}
