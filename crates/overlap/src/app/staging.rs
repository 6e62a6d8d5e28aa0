//! Files a command writes, staged beside their destination inside the command's transaction and
//! moved into place only after it commits.
//!
//! A staged file is written and synced as `.NAME.tmp` in the destination's folder (so the final
//! rename stays on one file system and is atomic); dropping it uncommitted removes it. So an error
//! part-way through a command leaves neither a record nor a file, and a report never lands
//! without its signature.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::AppError;

/// A file written next to its destination, not yet in place.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Staged {
    /// Writes `bytes` to the staging file of `path`.
    pub fn write(path: &Path, bytes: &[u8]) -> Result<Staged, AppError> {
        let (staged, mut f) = Staged::create(path)?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|source| AppError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(staged)
    }

    /// Creates (truncates) the staging file of `path`: hidden, beside it.
    fn create(path: &Path) -> Result<(Staged, std::fs::File), AppError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().ok_or_else(|| AppError::NotAFileName {
            path: path.to_path_buf(),
        })?;
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".tmp");
        let staged = Staged {
            tmp: dir.join(tmp_name),
            path: path.to_path_buf(),
            committed: false,
        };
        let file = std::fs::File::create(&staged.tmp).map_err(|source| AppError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok((staged, file))
    }

    /// Creates the staging file of `path`, which must not exist yet, for the caller to stream
    /// into (and sync); moved into place by [`commit`](Self::commit).
    pub fn stream_new(path: &Path) -> Result<(Staged, std::fs::File), AppError> {
        if path.exists() {
            return Err(AppError::Write {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the file already exists (choose a new one)",
                ),
            });
        }
        Staged::create(path)
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file into place (replacing an existing one).
    pub fn commit(mut self) -> Result<(), AppError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|source| AppError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the staging file is hidden and the command already reports its error.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Moves every staged file into place, in order.
pub fn commit_all(files: Vec<Staged>) -> Result<(), AppError> {
    files.into_iter().try_for_each(Staged::commit)
}
