//! `manyi org import|export` from the outside: JSON and CSV round trips, and a bad import
//! reported row by row with nothing half-imported.

use std::path::Path;
use std::process::{Command, Output};

fn manyi(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_manyi"))
        .args(args)
        .args(["--database", db])
        .output()
        .expect("run manyi")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

const ORG: &str = r#"{
  "units": [
    {"code": "HQ", "name": "总行", "level": "hq"},
    {"code": "BJ", "name": "北京分行", "level": "branch1", "parent": "HQ"},
    {"code": "BJ01", "name": "北京营业部", "level": "outlet", "parent": "BJ"}
  ],
  "users": [
    {"login": "wang", "name": "王芳", "unit": "BJ01", "roles": ["teller", "frontline"]}
  ]
}"#;

#[test]
fn an_organisation_round_trips_through_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("org.db").display());
    let file = write(dir.path(), "org.json", ORG);
    let out = manyi(&db, &["org", "import", &file]);
    assert!(out.status.success(), "{}", text(&out));

    let out = manyi(&db, &["org", "export"]);
    assert!(out.status.success(), "{}", text(&out));
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["units"].as_array().unwrap().len(), 3);
    assert_eq!(exported["units"][2]["parent"], "BJ");
    // Roles are a set: they come back sorted.
    assert_eq!(
        exported["users"][0]["roles"],
        serde_json::json!(["frontline", "teller"])
    );

    let csv_dir = dir.path().join("csv");
    let csv_dir_s = csv_dir.display().to_string();
    let out = manyi(
        &db,
        &["org", "export", "--format", "csv", "--out", &csv_dir_s],
    );
    assert!(out.status.success(), "{}", text(&out));
    let users = std::fs::read_to_string(csv_dir.join("users.csv")).unwrap();
    assert!(users.contains("wang,王芳,BJ01,frontline;teller"), "{users}");

    // The CSV imports into a fresh database as the same organisation.
    let db2 = format!("sqlite:{}", dir.path().join("org2.db").display());
    let units_csv = csv_dir.join("units.csv").display().to_string();
    let users_csv = csv_dir.join("users.csv").display().to_string();
    let out = manyi(
        &db2,
        &[
            "org", "import", "--units", &units_csv, "--users", &users_csv,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = manyi(&db2, &["org", "export"]);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again, exported);
}

#[test]
fn a_bad_import_reports_every_bad_row_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("org.db").display());
    let good = write(dir.path(), "org.json", ORG);
    assert!(manyi(&db, &["org", "import", &good]).status.success());

    let bad = write(
        dir.path(),
        "bad.json",
        r#"{
      "units": [
        {"code": "SH", "name": "上海分行", "level": "branch1", "parent": "HQ"},
        {"code": "SH", "name": "上海分行（重复）", "level": "branch1", "parent": "HQ"},
        {"code": "GZ01", "name": "广州网点", "level": "outlet", "parent": "GZ"}
      ],
      "users": [
        {"login": "li", "name": "李强", "unit": "SH", "roles": ["teller"]},
        {"login": "zhao", "name": "赵敏", "unit": "NOWHERE", "roles": ["teller"]}
      ]
    }"#,
    );
    let out = manyi(&db, &["org", "import", &bad]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("units row 2, column `code`"), "{err}");
    assert!(err.contains("units row 3, column `parent`"), "{err}");
    assert!(err.contains("users row 2, column `unit`"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    let out = manyi(&db, &["org", "export"]);
    let now: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        now["units"].as_array().unwrap().len(),
        3,
        "SH must not exist"
    );
    assert_eq!(now["users"].as_array().unwrap().len(), 1);

    // A malformed file names the file and the place.
    let broken = write(dir.path(), "broken.json", r#"{"units": [{"code": "X"}]}"#);
    let out = manyi(&db, &["org", "import", &broken]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json"), "{err}");
}
