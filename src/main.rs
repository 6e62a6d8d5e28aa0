//! The `overlap` binary: a thin shell over the library's command-line front end.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    overlap::cli::main()
}
