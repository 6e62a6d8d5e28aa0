//! The `overlap` binary: a thin shell over the library's command-line front end.
#![forbid(unsafe_code)]

/// mimalloc: the design solvers allocate many small matrices per iteration, and glibc's
/// allocator was a fifth of their time (see ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    overlap::cli::main()
}
