//! The embedded migrations of both backends, and the one way they are run.
//!
//! Each backend has its own tree, `migrations/sqlite/` and `migrations/postgres/`, holding the
//! same file names: migration *n* means the same schema change on both, in each dialect. The
//! files are embedded at compile time and handed to sqlx's [`Migrator`], which records them in
//! `_sqlx_migrations` (and, on PostgreSQL, holds an advisory lock so that several instances
//! starting at once apply each migration once).
//!
//! `sqlx::migrate!` would read the directories itself but needs sqlx's `macros` feature, which
//! this workspace does not enable; versions and descriptions follow its file-name convention
//! (`0001_init.sql` is version 1, "init"), so the checksums recorded are the same either way.
//! The unit tests below check these lists against the directories.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, sql)` of one migration file.
pub(crate) type Embedded = (i64, &'static str, &'static str);

pub(crate) const SQLITE: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "timers",
        include_str!("../migrations/sqlite/0002_timers.sql"),
    ),
    (
        3,
        "calendar",
        include_str!("../migrations/sqlite/0003_calendar.sql"),
    ),
    (
        4,
        "unit calendars",
        include_str!("../migrations/sqlite/0004_unit_calendars.sql"),
    ),
    (
        5,
        "penalties",
        include_str!("../migrations/sqlite/0005_penalties.sql"),
    ),
    (
        6,
        "case stats",
        include_str!("../migrations/sqlite/0006_case_stats.sql"),
    ),
    (
        7,
        "surveys",
        include_str!("../migrations/sqlite/0007_surveys.sql"),
    ),
    (
        8,
        "rewards",
        include_str!("../migrations/sqlite/0008_rewards.sql"),
    ),
    (
        9,
        "archive",
        include_str!("../migrations/sqlite/0009_archive.sql"),
    ),
    (
        10,
        "performance",
        include_str!("../migrations/sqlite/0010_performance.sql"),
    ),
    (11, "web", include_str!("../migrations/sqlite/0011_web.sql")),
    (12, "due", include_str!("../migrations/sqlite/0012_due.sql")),
    (
        13,
        "find",
        include_str!("../migrations/sqlite/0013_find.sql"),
    ),
    (
        14,
        "case weeks",
        include_str!("../migrations/sqlite/0014_case_weeks.sql"),
    ),
    (
        15,
        "find numbers",
        include_str!("../migrations/sqlite/0015_find_numbers.sql"),
    ),
    (
        16,
        "repeat",
        include_str!("../migrations/sqlite/0016_repeat.sql"),
    ),
    (
        17,
        "timer purpose",
        include_str!("../migrations/sqlite/0017_timer_purpose.sql"),
    ),
    (
        18,
        "survey parties",
        include_str!("../migrations/sqlite/0018_survey_parties.sql"),
    ),
    (
        19,
        "case rollups",
        include_str!("../migrations/sqlite/0019_case_rollups.sql"),
    ),
    (
        20,
        "conduct",
        include_str!("../migrations/sqlite/0020_conduct.sql"),
    ),
    (
        21,
        "survey schedules",
        include_str!("../migrations/sqlite/0021_survey_schedules.sql"),
    ),
    (
        22,
        "intake triggers",
        include_str!("../migrations/sqlite/0022_intake_triggers.sql"),
    ),
    (
        23,
        "deferred indexes",
        include_str!("../migrations/sqlite/0023_deferred_indexes.sql"),
    ),
    (
        24,
        "closed at",
        include_str!("../migrations/sqlite/0024_closed_at.sql"),
    ),
];

pub(crate) const POSTGRES: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "timers",
        include_str!("../migrations/postgres/0002_timers.sql"),
    ),
    (
        3,
        "calendar",
        include_str!("../migrations/postgres/0003_calendar.sql"),
    ),
    (
        4,
        "unit calendars",
        include_str!("../migrations/postgres/0004_unit_calendars.sql"),
    ),
    (
        5,
        "penalties",
        include_str!("../migrations/postgres/0005_penalties.sql"),
    ),
    (
        6,
        "case stats",
        include_str!("../migrations/postgres/0006_case_stats.sql"),
    ),
    (
        7,
        "surveys",
        include_str!("../migrations/postgres/0007_surveys.sql"),
    ),
    (
        8,
        "rewards",
        include_str!("../migrations/postgres/0008_rewards.sql"),
    ),
    (
        9,
        "archive",
        include_str!("../migrations/postgres/0009_archive.sql"),
    ),
    (
        10,
        "performance",
        include_str!("../migrations/postgres/0010_performance.sql"),
    ),
    (
        11,
        "web",
        include_str!("../migrations/postgres/0011_web.sql"),
    ),
    (
        12,
        "due",
        include_str!("../migrations/postgres/0012_due.sql"),
    ),
    (
        13,
        "find",
        include_str!("../migrations/postgres/0013_find.sql"),
    ),
    (
        14,
        "case weeks",
        include_str!("../migrations/postgres/0014_case_weeks.sql"),
    ),
    (
        15,
        "find numbers",
        include_str!("../migrations/postgres/0015_find_numbers.sql"),
    ),
    (
        16,
        "repeat",
        include_str!("../migrations/postgres/0016_repeat.sql"),
    ),
    (
        17,
        "timer purpose",
        include_str!("../migrations/postgres/0017_timer_purpose.sql"),
    ),
    (
        18,
        "survey parties",
        include_str!("../migrations/postgres/0018_survey_parties.sql"),
    ),
    (
        19,
        "case rollups",
        include_str!("../migrations/postgres/0019_case_rollups.sql"),
    ),
    (
        20,
        "conduct",
        include_str!("../migrations/postgres/0020_conduct.sql"),
    ),
    (
        21,
        "survey schedules",
        include_str!("../migrations/postgres/0021_survey_schedules.sql"),
    ),
    (
        22,
        "intake triggers",
        include_str!("../migrations/postgres/0022_intake_triggers.sql"),
    ),
    (
        23,
        "deferred indexes",
        include_str!("../migrations/postgres/0023_deferred_indexes.sql"),
    ),
    (
        24,
        "closed at",
        include_str!("../migrations/postgres/0024_closed_at.sql"),
    ),
];

/// A migrator over one backend's list. Each migration runs in a transaction of its own.
pub(crate) fn migrator(migrations: &[Embedded]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `(version, description, sql, file name)` of every file in `migrations/<dir>/`.
    fn on_disk(dir: &str) -> Vec<(i64, String, String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("migrations dir")
            .map(|entry| {
                let path = entry.expect("dir entry").path();
                let name = path
                    .file_name()
                    .and_then(|s| s.to_str())
                    .expect("utf-8 name")
                    .to_owned();
                let stem = name.strip_suffix(".sql").expect("NNNN_name.sql");
                let (version, description) = stem.split_once('_').expect("NNNN_name.sql");
                let sql = std::fs::read_to_string(&path).expect("readable");
                (
                    version.parse().expect("numeric version"),
                    description.replace('_', " "),
                    sql,
                    name,
                )
            })
            .collect();
        files.sort();
        files
    }

    fn embedded(list: &[Embedded]) -> Vec<(i64, String, String)> {
        list.iter()
            .map(|&(v, d, s)| (v, d.to_owned(), s.to_owned()))
            .collect()
    }

    fn without_names(files: &[(i64, String, String, String)]) -> Vec<(i64, String, String)> {
        files
            .iter()
            .map(|(v, d, s, _)| (*v, d.clone(), s.clone()))
            .collect()
    }

    #[test]
    fn the_embedded_migrations_are_exactly_the_files_in_each_migrations_directory() {
        assert_eq!(embedded(SQLITE), without_names(&on_disk("sqlite")));
        assert_eq!(embedded(POSTGRES), without_names(&on_disk("postgres")));
    }

    #[test]
    fn both_backends_have_migrations_of_the_same_names() {
        let names = |dir| -> Vec<String> { on_disk(dir).into_iter().map(|f| f.3).collect() };
        assert_eq!(names("sqlite"), names("postgres"));
    }
}
