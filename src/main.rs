//! `trailspark`: one binary for the service and its administration.

mod cli;

// A webhook request allocates and frees many small values (its JSON, its update, its answer)
// across threads; under callgrind the service ran 12 % fewer instructions per request with
// mimalloc than with glibc's allocator, which takes locks and consolidates free lists.
// mimalloc 2 (the `v2` feature) rather than 3: 3 keeps freed pages a second before giving them
// back (its `purge_delay`, which only an environment variable or `unsafe` can change), so a
// burst of `/v1/batch` bodies left the SQLite store at 92 MiB where 2, at 10 ms, stays under
// 70; per request both run as many instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::parse();
    // Blocking threads: SQLite's reads (8 connections at most), password hashing, name
    // lookups. Tokio's default allows 512, and under a steady read load it kept starting new
    // ones (a finished thread is not yet idle when the next read asks): 45 threads, each with
    // its allocator heap, took the service from 55 to 83 MiB in bench/context.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(16)
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
