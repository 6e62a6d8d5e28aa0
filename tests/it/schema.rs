//! The storage schema: the embedded migrations list matches the `migrations/` folder, the resulting
//! schema is snapshotted (a change to it shows up in review as a snapshot diff), upgrades apply the
//! pending migrations, and a database newer than the binary is refused naming both versions.

use crate::common;

use std::path::Path;

use common::Env;
use overlap::storage::{MIGRATIONS, Store, schema_version};

fn migrations_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/overlap/migrations")
}

#[test]
fn embedded_migrations_match_the_migrations_folder() {
    let mut folders: Vec<String> = std::fs::read_dir(migrations_dir())
        .expect("read migrations/")
        .map(|e| {
            let e = e.expect("a directory entry");
            assert!(
                e.file_type().expect("file type").is_dir(),
                "migrations/ holds only folders, found {:?}",
                e.file_name()
            );
            e.file_name().to_string_lossy().into_owned()
        })
        .collect();
    folders.sort();
    let embedded: Vec<&str> = MIGRATIONS.iter().map(|(name, _)| *name).collect();
    assert_eq!(embedded, folders, "MIGRATIONS lists every folder, in order");
    assert_eq!(schema_version() as usize, MIGRATIONS.len());

    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let (number, rest) = name
            .split_once('-')
            .unwrap_or_else(|| panic!("{name}: NN-name"));
        assert_eq!(number.len(), 2, "{name}: a two-digit number");
        assert_eq!(
            number.parse::<usize>().ok(),
            Some(i + 1),
            "{name}: numbered in order from 01"
        );
        assert!(
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}: a lowercase name after the number"
        );
        let dir = migrations_dir().join(name);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("read a migration folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["up.sql"], "{name}: one up.sql");
        let on_disk = std::fs::read_to_string(dir.join("up.sql")).expect("read up.sql");
        assert_eq!(
            &on_disk, sql,
            "{name}/up.sql differs from the embedded text"
        );
    }
}

#[test]
fn schema_snapshot() {
    let store = Store::in_memory().expect("an in-memory store");
    let sql = store.schema_sql().expect("the schema");
    insta::assert_snapshot!("schema", sql);
}

#[test]
fn a_file_database_has_the_same_schema_as_an_in_memory_one() {
    let env = Env::initialized();
    let mem = Store::in_memory()
        .expect("in memory")
        .schema_sql()
        .expect("schema");
    let file = Store::open(env.db())
        .expect("open")
        .schema_sql()
        .expect("schema");
    assert_eq!(file, mem);
    // Rows are written before their version row under deferred foreign keys: check them after.
    env.add_intervention("shorten", "1");
    env.write(
        "d.jsonl",
        "{\"id\":\"c1\",\"a\":{\"intervention\":\"shorten\"},\"delta\":{\"x\":1},\"label\":1}\n",
    );
    env.import("d", "d.jsonl", &[]);
    let conn = env.sqlite();
    let mut stmt = conn.prepare("PRAGMA foreign_key_check").expect("prepare");
    let violations = stmt.query_map([], |_| Ok(())).expect("query").count();
    assert_eq!(violations, 0, "foreign key violations after an import");
}

#[test]
fn a_newer_database_is_refused_naming_both_versions() {
    let env = Env::initialized();
    let known = schema_version();
    let found = known + 1;
    env.sqlite()
        .pragma_update(None, "user_version", found)
        .expect("set user_version");
    let counts = env.row_counts();
    for args in [
        vec!["dataset", "list"],
        vec!["registry", "verify"],
        vec!["intervention", "list"],
        vec!["init"],
    ] {
        env.run(&args).expect_code(2).stderr_has(&[
            &format!("schema version {found}"),
            &format!("({known})"),
            "newer",
        ]);
    }
    let after: u32 = env
        .sqlite()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(after, found, "the refused database is left as it was");
    assert_eq!(env.row_counts(), counts);
}

#[test]
fn init_upgrades_a_database_at_an_older_schema_version() {
    let env = Env::new();
    {
        let conn = env.sqlite();
        conn.execute_batch(MIGRATIONS[0].1).expect("apply 01");
        conn.pragma_update(None, "user_version", 1)
            .expect("set user_version");
    }
    let known = schema_version();
    let out = env.ok(&["init"]);
    if known > 1 {
        assert!(
            out.contains(&format!("from schema version 1 to {known}")),
            "{out}"
        );
    } else {
        assert!(out.contains("already initialized"), "{out}");
    }
    let version: u32 = env
        .sqlite()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, known);
    let fresh = Store::in_memory()
        .expect("in memory")
        .schema_sql()
        .expect("schema");
    let upgraded = Store::open(env.db())
        .expect("open")
        .schema_sql()
        .expect("schema");
    assert_eq!(upgraded, fresh);
}

#[test]
fn a_sqlite_file_that_is_not_an_overlap_database_is_refused() {
    let env = Env::new();
    env.sqlite()
        .execute_batch("CREATE TABLE other (x INTEGER);")
        .expect("create a foreign database");
    env.run(&["dataset", "list"])
        .expect_code(2)
        .stderr_has(&["overlap init"]);
    let tables: i64 = env
        .sqlite()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .expect("count tables");
    assert_eq!(tables, 1, "nothing was created in a foreign database");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let env = Env::new();
    std::fs::write(
        env.db(),
        "this is not a database, just text that is long enough to be read",
    )
    .expect("write");
    env.run(&["dataset", "list"]).expect_code(2);
}
