//! The demo's HTML reports in a real browser: headless Chromium must show a non-blank page with
//! the dataset name and the bucket table, and log no console errors.
//!
//! Needs `chromium` on PATH (`.ci/run` installs Debian's package). Without it the test fails when
//! the `CI` environment variable is set (CI must not silently skip it) and is skipped with a note
//! otherwise. Screenshots are kept under `target/test-artifacts/` for people to look at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const DATE: &str = "2026-01-15";

/// How long one Chromium run may take before it is treated as hung (a guard, not a benchmark).
const BROWSER_DEADLINE: Duration = Duration::from_secs(120);

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("create test-artifacts");
    dir
}

/// Runs chromium headless with a fresh profile; kills it after [`BROWSER_DEADLINE`].
fn chromium(browser: &Path, profile: &Path, args: &[String]) -> Output {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Drain both pipes on threads so a chatty browser cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if start.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_DEADLINE:?}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out_thread.join().expect("stdout thread"),
        stderr: err_thread.join().expect("stderr thread"),
    }
}

/// Console messages and uncaught exceptions in Chromium's log (there should be none: the
/// reports have no scripts).
fn console_errors(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .map(str::to_owned)
        .collect()
}

/// Number of distinct RGBA colours in a PNG (capped), to tell a drawn page from a blank one.
fn distinct_colours(png_bytes: &[u8]) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("png header");
    let size = reader.output_buffer_size().expect("png buffer size");
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let bytes = &buf[..info.buffer_size()];
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        _ => 1,
    };
    let mut seen = std::collections::BTreeSet::new();
    for px in bytes.chunks_exact(step) {
        seen.insert(px.to_vec());
        if seen.len() > 64 {
            break;
        }
    }
    (info.width, info.height, seen.len())
}

#[test]
fn demo_reports_render_in_headless_chromium() {
    let Some(browser) = find_on_path("chromium") else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not on PATH but CI is set: .ci/run must install it");
        }
        eprintln!(
            "note: chromium is not on PATH; skipping the browser check (set CI to make this fail)"
        );
        return;
    };
    let dir = crate::common::demo_copy();
    let root = dir.path();
    let overlap = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("overlap")
            .expect("binary")
            .current_dir(root)
            .env("OVERLAP_ACTOR", "tester")
            .env_remove("OVERLAP_DB")
            .args(args)
            .output()
            .expect("run overlap");
        assert!(
            out.status.success(),
            "overlap {args:?}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let artifacts = artifacts_dir();
    for (kind, version) in [
        ("label", "demo@1"),
        ("label", "demo@2"),
        ("adequacy", "demo@1"),
    ] {
        let name = format!("{kind}-{}.html", version.replace('@', "-"));
        overlap(&[
            "--db",
            "d/overlap.db",
            "report",
            kind,
            version,
            "--policy",
            "d/release-gate.yaml",
            "--output",
            &name,
            "--date",
            DATE,
        ]);
        let page = root.join(&name);
        let url = format!("file://{}", page.display());

        let profile = tempfile::tempdir().expect("profile dir");
        let dom = chromium(
            &browser,
            profile.path(),
            &["--dump-dom".to_owned(), url.clone()],
        );
        assert!(dom.status.success(), "chromium --dump-dom failed on {name}");
        let dom_text = String::from_utf8_lossy(&dom.stdout);
        assert!(
            dom_text.contains("<span id=\"dataset\">demo</span>"),
            "{name}: the DOM lacks the dataset name"
        );
        assert!(
            dom_text.contains("id=\"bucket-table\"") && dom_text.contains("<td>self-harm</td>"),
            "{name}: the DOM lacks the bucket table"
        );
        assert!(dom_text.contains("<svg"), "{name}: no chart in the DOM");
        let errors = console_errors(&dom.stderr);
        assert!(
            errors.is_empty(),
            "{name}: console errors:\n{}",
            errors.join("\n")
        );

        let shot = artifacts.join(name.replace(".html", ".png"));
        let profile = tempfile::tempdir().expect("profile dir");
        let snap = chromium(
            &browser,
            profile.path(),
            &[
                "--window-size=1200,2400".to_owned(),
                format!("--screenshot={}", shot.display()),
                url,
            ],
        );
        assert!(
            snap.status.success(),
            "chromium --screenshot failed on {name}"
        );
        let errors = console_errors(&snap.stderr);
        assert!(
            errors.is_empty(),
            "{name}: console errors:\n{}",
            errors.join("\n")
        );
        let png_bytes = std::fs::read(&shot).expect("screenshot written");
        let (width, height, colours) = distinct_colours(&png_bytes);
        assert!(
            width >= 1000 && height >= 2000,
            "{name}: screenshot is {width}×{height}"
        );
        // Text, tables, badges and charts give far more than a handful of colours.
        assert!(
            colours > 16,
            "{name}: the page looks blank ({colours} colours)"
        );
        eprintln!("{name}: screenshot {}", shot.display());
    }
}
