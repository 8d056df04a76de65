-- idsnap database schema. A fresh file gets exactly this script, in one
-- transaction; an older file is brought here by the numbered upgrades in
-- store/migrate.go. store sets PRAGMA application_id (0x1D5A9C07) itself.
--
-- Interval storage: each version of a record is stored once, valid in the
-- snapshots [valid_from, valid_to) of its source (valid_to NULL while current).
-- Snapshot ids are global and grow with every commit, so they also order time.

CREATE TABLE sources (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);

CREATE TABLE snapshots (
	id           INTEGER PRIMARY KEY,
	source_id    INTEGER NOT NULL REFERENCES sources (id),
	provider     TEXT NOT NULL,
	base_url     TEXT NOT NULL DEFAULT '',
	org          TEXT NOT NULL DEFAULT '',
	taken_at     TEXT NOT NULL, -- RFC 3339, UTC, when the pull began
	users        INTEGER NOT NULL,
	resources    INTEGER NOT NULL,
	entitlements INTEGER NOT NULL,
	grants       INTEGER NOT NULL,
	digest       TEXT NOT NULL, -- hex SHA-256 over (kind, id, hash) in canonical order
	chain_digest TEXT NOT NULL  -- hex SHA-256(previous chain digest || digest)
);
CREATE INDEX snapshots_source ON snapshots (source_id, id);
-- How the pull ran, as JSON (idsnap.PullInfo: endpoints read with their
-- parameters, end time, provider totals), for the evidence's IPE block;
-- NULL for snapshots pulled before schema 4. Added as the upgrade adds it,
-- so a fresh file and an upgraded one hold the same table definition.
-- upgrade v4 begin
ALTER TABLE snapshots ADD COLUMN pull TEXT;
-- upgrade v4 end

-- kind: 1 user, 2 resource, 3 entitlement, 4 grant (canonical order).
CREATE TABLE versions (
	id             INTEGER PRIMARY KEY,
	source_id      INTEGER NOT NULL REFERENCES sources (id),
	kind           INTEGER NOT NULL,
	ext_id         TEXT NOT NULL,
	valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
	valid_to       INTEGER REFERENCES snapshots (id),
	hash           BLOB NOT NULL, -- SHA-256 of the attributes, activity excluded
	principal_id   TEXT,
	resource_id    TEXT,
	entitlement_id TEXT,
	email          TEXT,
	email_verified INTEGER, -- NULL: the provider does not say
	username       TEXT,
	name           TEXT,
	status         TEXT,
	type           TEXT,
	external_id    TEXT,
	created_at     TEXT, -- RFC 3339, UTC
	raw            TEXT  -- canonical JSON: sorted keys, no insignificant space
);
-- One record's versions in order: State, History, as-of lookups. It covers
-- the commit's comparison with the current versions (valid_to, hash), so a
-- commit reads no table rows of unchanged records.
CREATE INDEX versions_key ON versions (source_id, kind, ext_id, valid_from, valid_to, hash);
-- Changes(from, to) reads only versions whose interval starts or ends in
-- (from, to]; these make that a range scan. valid_to IS NULL is also the
-- set of current versions the commit compares against.
CREATE INDEX versions_from ON versions (source_id, valid_from);
CREATE INDEX versions_to ON versions (source_id, valid_to);
-- History: the grants a principal holds.
CREATE INDEX versions_principal ON versions (source_id, principal_id) WHERE kind = 4;
-- FindUsers.
CREATE INDEX versions_email ON versions (email COLLATE NOCASE) WHERE kind = 1;
CREATE INDEX versions_username ON versions (username) WHERE kind = 1;

-- Sign-in activity, kept apart so a login never makes a new attribute
-- version. A row is written only when a version's activity differs from its
-- latest row, so storage grows with sign-ins, not with snapshots; the
-- activity of a version as of snapshot s is its latest row with
-- valid_from <= s. All-NULL columns record that activity became unknown.
-- Sign-ins touch a large share of users every day, so these rows are most
-- of a year's growth: they are kept tiny, with no secondary index.
CREATE TABLE activity (
	version_id      INTEGER NOT NULL REFERENCES versions (id),
	valid_from      INTEGER NOT NULL,
	last_sign_in    INTEGER, -- Unix seconds; NULL: never signed in
	sign_ins        INTEGER,
	failed_sign_ins INTEGER,
	PRIMARY KEY (version_id, valid_from)
) WITHOUT ROWID;

-- Webhooks a provider sent between pulls (idsnap listen), append-only:
-- the triggers refuse changes, so an event once stored is evidence like a
-- snapshot. They never change a snapshot. (source, event_id) is unique: a
-- replayed or retried webhook is stored once. Times are UTC with a fixed
-- six-digit fraction, so they sort as text.
-- upgrade v2 begin
CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	source      TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	type        TEXT NOT NULL,
	occurred_at TEXT NOT NULL,
	received_at TEXT NOT NULL,
	user_id     TEXT,          -- the user the event is about
	orgs        TEXT NOT NULL, -- JSON array of the organizations it names
	entitlements TEXT,         -- JSON array of those it shows the user holding; NULL: it does not say
	payload     TEXT NOT NULL, -- the verified payload, canonical JSON
	UNIQUE (source, event_id)
);
CREATE INDEX events_time ON events (source, occurred_at);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
-- upgrade v2 end

-- Views: a stable, documented surface for people who open the file with
-- sqlite3, Datasette, Grafana or Powerpipe (README.md, "SQL views"). The
-- tables above may change shape between versions; these views keep their
-- names and columns, and grow only by new columns at the end. Times are
-- RFC 3339 text in UTC, as taken_at is stored.
-- upgrade v3 begin
-- Every snapshot with its source's name and counts, oldest first by id.
CREATE VIEW snapshot_counts AS
SELECT s.id AS snapshot_id, o.name AS source, s.provider, s.taken_at,
	s.users, s.resources, s.entitlements, s.grants,
	s.digest, s.chain_digest,
	s.id = (SELECT max(l.id) FROM snapshots l WHERE l.source_id = s.source_id) AS latest
FROM snapshots s JOIN sources o ON o.id = s.source_id;

-- Every version of every record, valid from the time of the snapshot that
-- first saw it until the time of the first snapshot that no longer did
-- (valid_until NULL while it is current).
CREATE VIEW record_versions AS
SELECT o.name AS source,
	CASE v.kind WHEN 1 THEN 'user' WHEN 2 THEN 'resource' WHEN 3 THEN 'entitlement' WHEN 4 THEN 'grant' END AS kind,
	v.ext_id AS id, f.taken_at AS valid_from, t.taken_at AS valid_until,
	v.valid_from AS from_snapshot, v.valid_to AS until_snapshot,
	v.principal_id, v.resource_id, v.entitlement_id, v.email, v.email_verified,
	v.username, v.name, v.status, v.type, v.external_id, v.created_at, v.raw
FROM versions v
JOIN sources o ON o.id = v.source_id
JOIN snapshots f ON f.id = v.valid_from
LEFT JOIN snapshots t ON t.id = v.valid_to;

-- The users in each source's latest snapshot, with their latest known
-- sign-in.
CREATE VIEW current_users AS
SELECT o.name AS source, l.id AS snapshot_id, l.taken_at,
	v.ext_id AS user_id, v.email, v.email_verified, v.username, v.name, v.status, v.type,
	v.external_id, v.created_at,
	(SELECT strftime('%Y-%m-%dT%H:%M:%SZ', a.last_sign_in, 'unixepoch') FROM activity a
		WHERE a.version_id = v.id ORDER BY a.valid_from DESC LIMIT 1) AS last_sign_in
FROM versions v
JOIN sources o ON o.id = v.source_id
JOIN snapshots l ON l.id = (SELECT max(id) FROM snapshots WHERE source_id = v.source_id)
WHERE v.kind = 1 AND v.valid_to IS NULL;

-- The grants in each source's latest snapshot, joined to the names of
-- their holder, resource and entitlement as "idsnap access --at latest"
-- shows them: a holder the snapshot does not list has NULL email, name and
-- status; an unlisted entitlement is named by its id's last ':' part.
CREATE VIEW current_grants AS
SELECT o.name AS source, l.id AS snapshot_id, l.taken_at,
	g.principal_id, u.email, u.name, u.status,
	g.resource_id, r.name AS resource_name,
	g.entitlement_id,
	CASE WHEN e.id IS NULL
		THEN substr(g.entitlement_id, length(rtrim(g.entitlement_id, replace(g.entitlement_id, ':', ''))) + 1)
		ELSE e.name END AS entitlement_name,
	g.status AS grant_status, g.ext_id AS grant_id
FROM versions g
JOIN sources o ON o.id = g.source_id
JOIN snapshots l ON l.id = (SELECT max(id) FROM snapshots WHERE source_id = g.source_id)
LEFT JOIN versions u ON u.source_id = g.source_id AND u.kind = 1 AND u.ext_id = g.principal_id AND u.valid_to IS NULL
LEFT JOIN versions r ON r.source_id = g.source_id AND r.kind = 2 AND r.ext_id = g.resource_id AND r.valid_to IS NULL
LEFT JOIN versions e ON e.source_id = g.source_id AND e.kind = 3 AND e.ext_id = g.entitlement_id AND e.valid_to IS NULL
WHERE g.kind = 4 AND g.valid_to IS NULL;
-- upgrade v3 end

-- Where a source's hash chain starts once prune removed its oldest
-- snapshots: one row per pruned source, moved forward by a later prune.
-- upgrade v5 begin
CREATE TABLE anchors (
	source_id     INTEGER PRIMARY KEY REFERENCES sources (id),
	snapshot_id   INTEGER NOT NULL, -- the last pruned snapshot (deleted)
	taken_at      TEXT NOT NULL,    -- when it was taken, RFC 3339 UTC
	pruned_before TEXT NOT NULL,    -- the prune's --before, RFC 3339 UTC
	chain_digest  TEXT NOT NULL     -- its chain digest: the first kept snapshot's "previous"
);
-- upgrade v5 end

PRAGMA user_version = 5;
