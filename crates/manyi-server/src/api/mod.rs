//! The JSON API handlers, one module per resource.

pub mod archive;
pub mod assist;
pub mod callbacks;
pub mod caseless_conduct;
pub mod cases;
pub mod codes;
pub mod conduct;
pub mod disputes;
pub mod notes;
pub mod ops;
pub mod org;
pub mod penalties;
pub mod policies;
pub mod rewards;
pub mod stats;
pub(crate) mod subtasks;
pub mod survey_schedules;
pub mod surveys;
pub mod violations;
