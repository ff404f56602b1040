-- A unit's own calendar overlay (closures, extra working days, business hours with breaks),
-- as JSON; the effective calendar of a unit merges its ancestors' overlays down the tree.
CREATE TABLE unit_calendars (
    unit_id    BIGINT PRIMARY KEY REFERENCES units (id),
    overlay    TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
