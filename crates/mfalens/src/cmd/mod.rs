//! One module per subcommand.

pub mod demo;
pub mod generate;
pub mod ingest;
pub mod migrate;
pub mod report;
pub mod serve;
pub mod token;
