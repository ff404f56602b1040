//! The JSON API handlers, one module per resource.

pub mod archive;
pub mod assist;
pub mod cases;
pub mod codes;
pub mod disputes;
pub mod org;
pub mod penalties;
pub mod policies;
