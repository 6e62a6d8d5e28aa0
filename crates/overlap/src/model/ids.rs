//! Identifiers: validated names and `NAME[@VERSION]` references to dataset versions.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Names reserved because they mean "no intervention" in arms and records.
pub const RESERVED_NAMES: &[&str] = &["baseline", "none", "null"];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name '{0}' is longer than 64 characters")]
    TooLong(String),
    #[error(
        "name '{0}' may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit"
    )]
    BadCharacters(String),
    #[error("name '{0}' is reserved")]
    Reserved(String),
    #[error("'{0}' is not a valid version: expected NAME@N with N a whole number ≥ 1")]
    BadVersion(String),
}

/// A validated name of a dataset or an intervention: `[a-z0-9][a-z0-9._-]{0,63}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn parse(s: &str) -> Result<Name, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.chars().count() > 64 {
            return Err(NameError::TooLong(s.to_string()));
        }
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        if !first_ok || !rest_ok {
            return Err(NameError::BadCharacters(s.to_string()));
        }
        if RESERVED_NAMES.contains(&s) {
            return Err(NameError::Reserved(s.to_string()));
        }
        Ok(Name(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `NAME` (the latest version) or `NAME@V`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRef {
    pub name: Name,
    pub version: Option<u32>,
}

impl FromStr for DatasetRef {
    type Err = NameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('@') {
            None => Ok(DatasetRef {
                name: Name::parse(s)?,
                version: None,
            }),
            Some((name, v)) => {
                let version = v
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| NameError::BadVersion(s.to_string()))?;
                Ok(DatasetRef {
                    name: Name::parse(name)?,
                    version: Some(version),
                })
            }
        }
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{}@{}", self.name, v),
            None => write!(f, "{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(Name::parse("add-disclaimer").is_ok());
        assert!(Name::parse("v1.2_x").is_ok());
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("Shorten"),
            Err(NameError::BadCharacters(_))
        ));
        assert!(matches!(
            Name::parse("-x"),
            Err(NameError::BadCharacters(_))
        ));
        assert!(matches!(
            Name::parse("a/b"),
            Err(NameError::BadCharacters(_))
        ));
        assert!(matches!(
            Name::parse("baseline"),
            Err(NameError::Reserved(_))
        ));
    }

    #[test]
    fn dataset_refs_parse() {
        let r: DatasetRef = "demo@2".parse().unwrap();
        assert_eq!(r.name.as_str(), "demo");
        assert_eq!(r.version, Some(2));
        let r: DatasetRef = "demo".parse().unwrap();
        assert_eq!(r.version, None);
        assert!("demo@0".parse::<DatasetRef>().is_err());
        assert!("demo@x".parse::<DatasetRef>().is_err());
        assert!("demo@".parse::<DatasetRef>().is_err());
    }
}
