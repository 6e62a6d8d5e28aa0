//! Input problems: each with file, line and field, shown up to a cap and then counted.

use std::fmt;

/// How many problems are shown before the rest are only counted.
pub(super) const SHOWN_PROBLEMS: usize = 20;

/// One problem in an input file. `line` 0 means the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        match &self.field {
            Some(field) => write!(f, ": {field}: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// The first problems of an input and the count of all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub shown: Vec<Problem>,
    pub total: u64,
    /// Reading stopped at this many problems (`--max-errors`): later lines were not checked.
    pub stopped_at: Option<u64>,
}

impl Problems {
    pub fn push(&mut self, p: Problem) {
        if self.shown.len() < SHOWN_PROBLEMS {
            self.shown.push(p);
        }
        self.total += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub fn single(file: &str, message: &str) -> Problems {
        let mut p = Problems::default();
        p.push(Problem {
            file: file.to_string(),
            line: 0,
            field: None,
            message: message.to_string(),
        });
        p
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.shown.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        let rest = self.total - self.shown.len() as u64;
        if rest > 0 {
            write!(
                f,
                "\nand {rest} more problem{}",
                if rest == 1 { "" } else { "s" }
            )?;
        }
        if let Some(limit) = self.stopped_at {
            write!(
                f,
                "\nstopped reading at {limit} problem{} (--max-errors): the rest of the input was not checked",
                if limit == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}
