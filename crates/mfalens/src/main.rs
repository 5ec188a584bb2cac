//! `mfalens`: one binary, subcommands. Reads the clock once per command and passes it down.

mod cmd;
mod config;
mod files;
mod logging;
mod pipeline;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "mfalens",
    version,
    about = "Who is not using MFA, and how often does MFA fail? A self-hosted MFA-compliance \
             reporting service that answers over the Microsoft Graph (beta) and Partner Center APIs.",
    long_about = None,
    after_help = "Start here:  mfalens demo      (synthetic organisation, served on 127.0.0.1:8080)\n\
                  Real data:   mfalens ingest users users.ndjson && mfalens ingest signins signins.ndjson.gz && mfalens serve\n\
                  Every command that touches data takes --database (env MFALENS_DATABASE)."
)]
struct Cli {
    /// Log format: text for people, json for log pipelines.
    #[arg(long, global = true, env = "MFALENS_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Graph beta, Partner Center and ingest APIs over HTTP.
    Serve(cmd::serve::ServeArgs),
    /// Import sign-in logs or the user directory from files into the database.
    #[command(subcommand)]
    Ingest(cmd::ingest::IngestCommand),
    /// Write a deterministic synthetic organisation (users and sign-ins) as import files.
    Generate(cmd::generate::GenerateArgs),
    /// Mint a bearer token signed by this installation's local key (printed on the last line).
    Token(cmd::token::TokenArgs),
    /// Generate a synthetic organisation, load it, serve it, and print tokens and example calls.
    Demo(cmd::demo::DemoArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(cmd::migrate::MigrateArgs),
    /// Reports read straight from the database (tables, CSV, JSON).
    #[command(subcommand)]
    Report(cmd::report::ReportCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Serve(a) => cmd::serve::run(a).await,
            Command::Ingest(c) => cmd::ingest::run(c).await,
            Command::Generate(a) => cmd::generate::run(a),
            Command::Token(a) => cmd::token::run(a).await,
            Command::Demo(a) => cmd::demo::run(a).await,
            Command::Migrate(a) => cmd::migrate::run(a).await,
            Command::Report(c) => cmd::report::run(c).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
