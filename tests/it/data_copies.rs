//! The repository's copies of the workplace's reference data (`tests/data/conformance`,
//! `tests/data/hh-rlhf`) are byte-identical to `../shared` when it is beside the checkout, and
//! complete: every file there is here. Without `../shared` the copies are what the tests use.

use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read"))
        })
        .collect()
}

fn check(shared: &str, copy: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = files(&root.join(copy));
    assert!(!ours.is_empty(), "{copy} is empty");
    let theirs_dir = root.join(shared);
    if !theirs_dir.is_dir() {
        eprintln!(
            "note: {shared} is not beside the checkout; the copies in {copy} are used as they are"
        );
        return;
    }
    for (name, bytes) in files(&theirs_dir) {
        let mine = ours
            .get(&name)
            .unwrap_or_else(|| panic!("{shared}/{name} has no copy in {copy}"));
        assert!(mine == &bytes, "{copy}/{name} differs from {shared}/{name}");
    }
}

#[test]
fn conformance_copy_matches_shared() {
    check("../shared/conformance", "tests/data/conformance");
}

#[test]
fn hh_rlhf_copy_matches_shared() {
    check("../shared/data", "tests/data/hh-rlhf");
}
