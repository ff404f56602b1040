//! Time, injected. The only module allowed to read the system clock (clippy's
//! `disallowed-methods` bans `Timestamp::now` everywhere else), so that every component takes
//! its time from a [`Clock`] and tests can move time forward instead of sleeping.
//!
//! - [`SystemClock`]: the real wall clock, for production.
//! - [`ManualClock`]: an instant a test sets, shared within one process.
//! - [`FileClock`]: an instant read from a file, shared by several processes (multi-instance
//!   tests and drills; `manyi serve --clock-file`). The one piece of IO in this crate, kept
//!   here so that "where does time come from" has one answer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "this is the one sanctioned reader of the system clock"
    )]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until a test moves it. Cloning shares the same instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    pub fn set(&self, to: Timestamp) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.lock();
        // Saturate rather than panic: a test that overshoots the representable range
        // should see the maximum instant, not abort.
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A poisoned lock only means another test thread panicked while holding it; the
        // timestamp inside is still a valid value.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

/// A clock several processes share: each [`Clock::now`] reads an RFC 3339 instant (e.g.
/// `2026-03-10T10:00:00+08:00`) from a file, so that a test moves the time of every server
/// process at once by rewriting the file.
///
/// **For multi-process tests and drills only** (`manyi serve --clock-file`): a server on a
/// `FileClock` dates cases and fires deadlines by whatever the file says.
///
/// Reading never fails and never panics: when the file is missing, unreadable or does not
/// hold an instant (say, caught half-written), `now` answers the last instant it read. The
/// first read, in [`FileClock::open`], must succeed, so a wrong path is an error at start-up.
/// Writers should replace the file atomically (write a temporary file, then rename it).
#[derive(Debug)]
pub struct FileClock {
    path: PathBuf,
    last: Mutex<Timestamp>,
}

/// Why a clock file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileClockError {
    #[error("cannot read the clock file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the clock file {path} does not hold an RFC 3339 instant (`{text}`): {source}")]
    Parse {
        path: PathBuf,
        text: String,
        #[source]
        source: jiff::Error,
    },
}

impl FileClock {
    /// A clock on `path`, which must already hold an instant.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileClock, FileClockError> {
        let path = path.into();
        let first = Self::read(&path)?;
        Ok(FileClock {
            path,
            last: Mutex::new(first),
        })
    }

    /// The file this clock reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the instant in `path` (surrounding whitespace is ignored).
    pub fn read(path: &Path) -> Result<Timestamp, FileClockError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileClockError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = text.trim();
        text.parse().map_err(|source| FileClockError::Parse {
            path: path.to_owned(),
            // An instant is short; anything long is not one, and is cut in the message.
            text: text.chars().take(64).collect(),
            source,
        })
    }

    /// Writes `at` to `path` atomically (a temporary file beside it, then a rename), for
    /// tests and drills that move a `FileClock`.
    pub fn write(path: &Path, at: Timestamp) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, format!("{at}\n"))?;
        std::fs::rename(&tmp, path)
    }
}

impl Clock for FileClock {
    fn now(&self) -> Timestamp {
        // A poisoned lock still holds a valid instant (see `ManualClock::lock`).
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(t) = Self::read(&self.path) {
            *last = t;
        }
        *last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file path of its own under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("manyi-clock-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir.join("now")
    }

    fn t(s: &str) -> Timestamp {
        s.parse().expect("an instant")
    }

    #[test]
    fn a_file_clock_follows_the_file_and_keeps_the_last_instant_when_it_is_unreadable() {
        let path = scratch("follows");
        FileClock::write(&path, t("2026-03-10T10:00:00+08:00")).expect("write");
        let clock = FileClock::open(&path).expect("open");
        assert_eq!(clock.now(), t("2026-03-10T02:00:00Z"));

        // Another process moves the time: every reader sees it at once.
        FileClock::write(&path, t("2026-03-12T00:01:00+08:00")).expect("write");
        assert_eq!(clock.now(), t("2026-03-11T16:01:00Z"));

        // Garbage, an empty file (caught half-written), a deleted file: the last instant.
        for broken in ["not a time", ""] {
            std::fs::write(&path, broken).expect("write");
            assert_eq!(clock.now(), t("2026-03-11T16:01:00Z"), "{broken:?}");
        }
        std::fs::remove_file(&path).expect("remove");
        assert_eq!(clock.now(), t("2026-03-11T16:01:00Z"));

        // Surrounding whitespace is fine.
        std::fs::write(&path, "  2026-03-13T09:00:00+08:00 \n").expect("write");
        assert_eq!(clock.now(), t("2026-03-13T01:00:00Z"));
        let _ = std::fs::remove_dir_all(path.parent().expect("a parent"));
    }

    #[test]
    fn opening_a_missing_or_malformed_clock_file_is_an_error_naming_it() {
        let path = scratch("errors");
        let _ = std::fs::remove_file(&path);
        let err = FileClock::open(&path).expect_err("missing");
        assert!(matches!(err, FileClockError::Read { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );

        std::fs::write(&path, "yesterday").expect("write");
        let err = FileClock::open(&path).expect_err("malformed");
        assert!(matches!(err, FileClockError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("`yesterday`"), "{err}");
        let _ = std::fs::remove_dir_all(path.parent().expect("a parent"));
    }
}
