//! Which Parquet files an import reads: one file, every `*.parquet` under a folder (the Hugging
//! Face layout `data/<split>-NNNNN-of-NNNNN.parquet`, or `<config>/<split>/NNNN.parquet`), or a
//! glob; `--split` picks one split when there are several. Pure path logic: no Parquet decoding
//! here, so a build without Parquet support still names what it cannot read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::ImportError;

/// Whether `path` names Parquet input: a `.parquet` file, a folder, or a glob.
pub fn names_parquet(path: &str) -> bool {
    path != "-"
        && (has_parquet_extension(Path::new(path))
            || Path::new(path).is_dir()
            || path.contains(['*', '?', '[']))
}

fn has_parquet_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// The shards `path` names, in name order (so rows keep one order in every run), narrowed to
/// `split` when given. A folder or glob holding several splits needs `--split`.
pub(crate) fn shards(path: &str, split: Option<&str>) -> Result<Vec<PathBuf>, ImportError> {
    let unreadable = |message: String| ImportError::Unreadable {
        file: path.to_string(),
        message,
    };
    let p = Path::new(path);
    if p.is_file() {
        if split.is_some() {
            return Err(unreadable(
                "--split picks a split among a folder's or a glob's shards; this is one file"
                    .into(),
            ));
        }
        return Ok(vec![p.to_path_buf()]);
    }
    let mut found = Vec::new();
    if p.is_dir() {
        walk(p, &mut found).map_err(|e| unreadable(e.to_string()))?;
    } else if path.contains(['*', '?', '[']) {
        let entries = glob::glob(path).map_err(|e| unreadable(format!("invalid glob: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| unreadable(e.to_string()))?;
            if entry.is_file() && has_parquet_extension(&entry) {
                found.push(entry);
            }
        }
    } else {
        return Err(ImportError::Io {
            file: path.to_string(),
            cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    found.sort();
    if found.is_empty() {
        return Err(unreadable("no .parquet files found".into()));
    }
    let splits: BTreeSet<String> = found.iter().map(|f| split_of(f)).collect();
    let list = || splits.iter().cloned().collect::<Vec<_>>().join(", ");
    match split {
        Some(s) => {
            found.retain(|f| split_of(f) == s);
            if found.is_empty() {
                return Err(unreadable(format!(
                    "no shards of split '{s}' (the splits found: {})",
                    list()
                )));
            }
        }
        None if splits.len() > 1 => {
            return Err(unreadable(format!(
                "the shards belong to the splits {}: choose one with --split",
                list()
            )));
        }
        None => {}
    }
    Ok(found)
}

/// Every `*.parquet` file under `dir`, hidden entries (`.cache`, `.git`) skipped.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if has_parquet_extension(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// The split a shard belongs to, by the Hugging Face naming rules: `train-00000-of-00002.parquet`
/// and `train-….parquet` → `train`; `train/0000.parquet` (a numbered shard) → its folder's name;
/// `train.parquet` → `train`.
fn split_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((prefix, _)) = stem.split_once('-') {
        if !prefix.is_empty() && !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return prefix.to_string();
        }
    }
    if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        if let Some(parent) = path.parent().and_then(Path::file_name) {
            return parent.to_string_lossy().into_owned();
        }
    }
    stem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_hugging_face_names() {
        assert_eq!(
            split_of(Path::new("data/train-00000-of-00002.parquet")),
            "train"
        );
        assert_eq!(split_of(Path::new("default/test/0000.parquet")), "test");
        assert_eq!(split_of(Path::new("validation.parquet")), "validation");
        assert_eq!(split_of(Path::new("x/0000-0001.parquet")), "x");
    }

    #[test]
    fn a_folder_of_two_splits_needs_split() {
        let dir = std::env::temp_dir().join(format!("overlap-shards-{}", std::process::id()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).unwrap();
        for name in [
            "train-00001-of-00002.parquet",
            "train-00000-of-00002.parquet",
            "test-00000-of-00001.parquet",
            "README.md",
        ] {
            std::fs::write(data.join(name), b"").unwrap();
        }
        let d = dir.to_str().unwrap();
        let err = shards(d, None).unwrap_err().to_string();
        assert!(
            err.contains("splits test, train: choose one with --split"),
            "{err}"
        );
        let train = shards(d, Some("train")).unwrap();
        let names: Vec<_> = train
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "train-00000-of-00002.parquet",
                "train-00001-of-00002.parquet"
            ]
        );
        let err = shards(d, Some("dev")).unwrap_err().to_string();
        assert!(err.contains("no shards of split 'dev'"), "{err}");
        let glob = format!("{d}/data/test-*.parquet");
        assert_eq!(shards(&glob, None).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
