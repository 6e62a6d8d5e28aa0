//! Regression: CSV problems name the right line for LF and CRLF line ends and for quoted fields
//! that span lines (the csv crate's own line count is one short after CRLF).

use assert_cmd::Command;

fn line_of_problem(body: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("t.db");
    let file = dir.path().join("in.csv");
    std::fs::write(&file, body).expect("write");
    Command::cargo_bin("overlap")
        .expect("bin")
        .arg("--db")
        .arg(&db)
        .arg("init")
        .assert()
        .success();
    let out = Command::cargo_bin("overlap")
        .expect("bin")
        .arg("--db")
        .arg(&db)
        .args(["dataset", "import", "d"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let at = err.find("in.csv:").expect("file named");
    err[at..].split(':').nth(1).expect("line").to_string()
}

#[test]
fn csv_problem_lines_follow_the_file() {
    assert_eq!(
        line_of_problem("id,label,delta.x\nc1,1,0.5\nc2,1,abc\n"),
        "3"
    );
    assert_eq!(
        line_of_problem("id,label,delta.x\r\nc1,1,0.5\r\nc2,1,abc\r\n"),
        "3"
    );
    assert_eq!(
        line_of_problem("id,label,delta.x\r\nc1,1,0.5\r\nc2,1,0.1\r\nc3,1,x\r\n"),
        "4"
    );
    assert_eq!(
        line_of_problem("id,label,delta.x,prompt\nc1,1,0.5,\"two\nlines\"\nc2,1,abc,p\n"),
        "4"
    );
    // A line break inside an identifier is itself a problem (identifiers are printed in tables
    // and logs), reported on the record's first line.
    assert_eq!(
        line_of_problem("id,label,delta.x\n\"c\n1\",1,0.5\nc2,1,0.1\n"),
        "2"
    );
}
