"""Schema migrations, applied in order; ``schema_version`` records how far a database has come.

Times are integer milliseconds since the Unix epoch (UTC). Never edit a released step: add one.
"""

from __future__ import annotations

STEPS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE facilities (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, timezone TEXT NOT NULL, rules TEXT NOT NULL
    );
    CREATE TABLE rooms (
        id TEXT PRIMARY KEY, facility_id TEXT NOT NULL REFERENCES facilities(id), name TEXT NOT NULL
    );
    CREATE TABLE terminals (
        id TEXT PRIMARY KEY, facility_id TEXT NOT NULL REFERENCES facilities(id),
        room_id TEXT NOT NULL REFERENCES rooms(id), name TEXT NOT NULL, secret_hash TEXT NOT NULL
    );
    CREATE TABLE staff (
        id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
        password_hash TEXT NOT NULL, facility_id TEXT REFERENCES facilities(id)
    );
    CREATE TABLE inmates (
        id TEXT PRIMARY KEY, facility_id TEXT NOT NULL REFERENCES facilities(id),
        number TEXT NOT NULL, name TEXT NOT NULL, block TEXT NOT NULL DEFAULT '',
        UNIQUE (facility_id, number)
    );
    CREATE TABLE visitors (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, nik TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '',
        relationship TEXT NOT NULL DEFAULT '', priority INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX visitors_nik ON visitors(nik);
    CREATE TABLE visits (
        id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE,
        facility_id TEXT NOT NULL REFERENCES facilities(id), room_id TEXT NOT NULL,
        terminal_id TEXT NOT NULL REFERENCES terminals(id), inmate_id TEXT NOT NULL,
        kind TEXT NOT NULL, status TEXT NOT NULL,
        start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
        started_ms INTEGER, ended_ms INTEGER, end_reason TEXT, created_ms INTEGER NOT NULL
    );
    CREATE INDEX visits_terminal_start ON visits(terminal_id, start_ms);
    CREATE INDEX visits_status_start ON visits(status, start_ms);
    CREATE INDEX visits_inmate ON visits(inmate_id);
    CREATE TABLE participants (
        id TEXT PRIMARY KEY, visit_id TEXT NOT NULL REFERENCES visits(id), role TEXT NOT NULL,
        name TEXT NOT NULL, visitor_id TEXT REFERENCES visitors(id), link_hash TEXT UNIQUE
    );
    CREATE INDEX participants_visit ON participants(visit_id);
    CREATE INDEX participants_visitor ON participants(visitor_id);
    CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, exp_ms INTEGER NOT NULL);
    CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, facility_id TEXT NOT NULL,
        visit_id TEXT NOT NULL, actor_role TEXT NOT NULL, actor_id TEXT NOT NULL,
        action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX audit_visit ON audit_events(visit_id, seq);
    CREATE INDEX audit_facility_ts ON audit_events(facility_id, ts_ms);
    CREATE INDEX audit_ts ON audit_events(ts_ms);
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL,
        ts_ms INTEGER NOT NULL
    );
    -- The log is append-only: the database itself refuses edits and deletes through SQL.
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
    """,
    # 2: one table for every revocation (tokens, participants, staff accounts), numbered so that
    # every node can poll for the ones it has not applied yet (another process, such as the CLI,
    # may have written them).
    """
    CREATE TABLE revocations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('token', 'participant', 'staff')),
        subject TEXT NOT NULL, ts_ms INTEGER NOT NULL, exp_ms INTEGER,
        UNIQUE (kind, subject)
    );
    INSERT INTO revocations (kind, subject, ts_ms, exp_ms)
        SELECT 'token', jti, 0, exp_ms FROM revoked_tokens;
    DROP TABLE revoked_tokens;
    """,
    # 3: checkpoints are append-only too; verification trusts only the public keys pinned here,
    # each (but the log's first) pinned by an `audit-key-pinned` event at `pinned_seq`.
    """
    CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
    CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
    CREATE TABLE audit_keys (
        key_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, pinned_seq INTEGER NOT NULL,
        ts_ms INTEGER NOT NULL
    );
    CREATE TRIGGER audit_keys_no_update BEFORE UPDATE ON audit_keys
        BEGIN SELECT RAISE(ABORT, 'audit_keys is append-only'); END;
    CREATE TRIGGER audit_keys_no_delete BEFORE DELETE ON audit_keys
        BEGIN SELECT RAISE(ABORT, 'audit_keys is append-only'); END;
    """,
    # 4: a visitor (the person behind seats in many visits) can be revoked, everywhere or in one
    # facility; a disabled staff account can be enabled again (`lifted_ms`: tokens issued before
    # its disabling stay refused); expired token revocations are pruned, by `exp_ms`. SQLite
    # cannot change a CHECK, so the table is rebuilt, keeping every seq and the AUTOINCREMENT
    # counter (a node polls by seq, and a pruned seq must never be handed out again).
    """
    CREATE TABLE revocations_v4 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('token', 'participant', 'staff', 'visitor')),
        subject TEXT NOT NULL, ts_ms INTEGER NOT NULL, exp_ms INTEGER, lifted_ms INTEGER,
        UNIQUE (kind, subject)
    );
    INSERT INTO revocations_v4 (seq, kind, subject, ts_ms, exp_ms)
        SELECT seq, kind, subject, ts_ms, exp_ms FROM revocations;
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'revocations_v4', seq FROM sqlite_sequence WHERE name = 'revocations'
        AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'revocations_v4');
    DROP TABLE revocations;
    ALTER TABLE revocations_v4 RENAME TO revocations;
    CREATE INDEX revocations_token_exp ON revocations(exp_ms) WHERE kind = 'token';
    """,
    # 5: a log begun before step 3 (events, but no pinned key: steps 3 to 5 run together) keeps
    # its head at upgrade. The writer of those days signed up to a batch late, so verification
    # holds events up to it to no cadence; services.audit.upgrade pins the keys that signed them.
    """
    CREATE TABLE audit_legacy (head_seq INTEGER NOT NULL);
    INSERT INTO audit_legacy (head_seq)
        SELECT seq FROM audit_events WHERE NOT EXISTS (SELECT 1 FROM audit_keys)
        ORDER BY seq DESC LIMIT 1;
    CREATE TRIGGER audit_legacy_no_insert BEFORE INSERT ON audit_legacy
        BEGIN SELECT RAISE(ABORT, 'audit_legacy is written once, at upgrade'); END;
    CREATE TRIGGER audit_legacy_no_update BEFORE UPDATE ON audit_legacy
        BEGIN SELECT RAISE(ABORT, 'audit_legacy is append-only'); END;
    CREATE TRIGGER audit_legacy_no_delete BEFORE DELETE ON audit_legacy
        BEGIN SELECT RAISE(ABORT, 'audit_legacy is append-only'); END;
    """,
    # 6: a facility's calendar. Slot templates per visit room (weekdays as `0,6` for Monday and
    # Sunday, hours as minutes after local midnight, kinds as `legal,regular`); the booking window
    # (a facility without a row takes the defaults); blocked local dates; emergency closures.
    """
    CREATE TABLE slot_templates (
        id TEXT PRIMARY KEY, facility_id TEXT NOT NULL REFERENCES facilities(id),
        room_id TEXT NOT NULL REFERENCES rooms(id), weekdays TEXT NOT NULL,
        open_min INTEGER NOT NULL, close_min INTEGER NOT NULL, length_min INTEGER NOT NULL,
        kinds TEXT NOT NULL, CHECK (open_min < close_min)
    );
    CREATE INDEX slot_templates_room ON slot_templates(room_id);
    CREATE INDEX slot_templates_facility ON slot_templates(facility_id);
    CREATE TABLE booking_windows (
        facility_id TEXT PRIMARY KEY REFERENCES facilities(id), min_days INTEGER NOT NULL,
        max_days INTEGER NOT NULL, education_days TEXT NOT NULL
    );
    CREATE TABLE blocked_dates (
        facility_id TEXT NOT NULL REFERENCES facilities(id), date TEXT NOT NULL,
        reason TEXT NOT NULL, PRIMARY KEY (facility_id, date)
    );
    CREATE TABLE closures (
        id TEXT PRIMARY KEY, facility_id TEXT NOT NULL REFERENCES facilities(id),
        start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, reason TEXT NOT NULL,
        CHECK (start_ms < end_ms)
    );
    CREATE INDEX closures_facility ON closures(facility_id, start_ms);
    CREATE INDEX visits_room_start ON visits(room_id, start_ms);
    """,
    # 7: visit requests from families. A rejection keeps its canned reason and note; quotas are
    # per facility (a facility without a row takes the defaults: 1 and 1 per rolling 7 days);
    # the quota checks count an inmate's visits by start time.
    """
    ALTER TABLE visits ADD COLUMN reject_reason TEXT;
    ALTER TABLE visits ADD COLUMN reject_note TEXT;
    CREATE TABLE booking_quotas (
        facility_id TEXT PRIMARY KEY REFERENCES facilities(id),
        per_inmate INTEGER NOT NULL CHECK (per_inmate >= 1),
        per_visitor INTEGER NOT NULL CHECK (per_visitor >= 1)
    );
    CREATE INDEX visits_inmate_start ON visits(inmate_id, start_ms);
    CREATE INDEX visits_facility_status ON visits(facility_id, status, start_ms);
    """,
    # 8: the notification outbox. One row per message and way out (`channel`: webhook, or wa.me
    # for an officer to send by hand); a message made from an audit event names its `audit_seq`,
    # a reminder has 0, so that replaying events or rescanning visits adds nothing twice. The
    # family link is not stored: it is derived again when the message is sent or shown. The
    # notifier's place in the audit log is `notify_cursor`, moved in the transaction that adds
    # the rows it read; a log that exists already starts at its head, so that an upgrade does not
    # message every family about its past requests.
    """
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY, visit_id TEXT NOT NULL REFERENCES visits(id),
        facility_id TEXT NOT NULL, kind TEXT NOT NULL, channel TEXT NOT NULL,
        audit_seq INTEGER NOT NULL, phone TEXT NOT NULL, text TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'skipped')),
        attempts INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL, last_error TEXT,
        created_ms INTEGER NOT NULL, sent_ms INTEGER,
        UNIQUE (visit_id, kind, audit_seq, channel)
    );
    CREATE INDEX outbox_due ON outbox(state, channel, next_ms);
    CREATE TABLE notify_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL
    );
    INSERT INTO notify_cursor (id, seq) SELECT 1, coalesce(max(seq), 0) FROM audit_events;
    """,
    # 9: a facility's remaining booking rules. An inmate's status from the SDP import (remand
    # visits need the detaining authority's letter, kept on the visit at approval); a visit whose
    # inmate was released or transferred after booking waits for an officer's review; a facility's
    # booking policy (relationships as `spouse,parent`; a facility without a row takes them all).
    """
    ALTER TABLE inmates ADD COLUMN status TEXT NOT NULL DEFAULT 'convicted'
        CHECK (status IN ('convicted', 'remand', 'released', 'transferred'));
    ALTER TABLE visits ADD COLUMN permission_ref TEXT;
    ALTER TABLE visits ADD COLUMN review INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE booking_policies (
        facility_id TEXT PRIMARY KEY REFERENCES facilities(id),
        relationships TEXT NOT NULL, auto_approve_known INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 10: what each kind of request asks for beyond the visitor: an education visit's teacher's
    # mobile number (on the teacher's seat), a legal visit's advocate's registration number.
    """
    ALTER TABLE participants ADD COLUMN contact TEXT;
    ALTER TABLE visits ADD COLUMN advocate_number TEXT;
    """,
    # 11: a room's booked visits of a day are those ending after it starts: by `end_ms`, the
    # lookup reads the room's future only, where by `start_ms` it read the room's whole history.
    """
    CREATE INDEX visits_room_end ON visits(room_id, end_ms);
    """,
    # 12: the today board. When an officer marked a visit's inmate as brought to the visit room
    # (its `inmate-ready` audit event names the officer); the board reads a facility's day.
    """
    ALTER TABLE visits ADD COLUMN ready_ms INTEGER;
    CREATE INDEX visits_facility_start ON visits(facility_id, start_ms);
    """,
    # 13: a regional auditor's facilities (its region); other staff have one facility or all.
    # Auditors search by event kind: without an index, a kind that is rare or absent read the
    # whole log for one page.
    """
    CREATE INDEX audit_action ON audit_events(action, seq);
    CREATE TABLE staff_facilities (
        staff_id TEXT NOT NULL REFERENCES staff(id),
        facility_id TEXT NOT NULL REFERENCES facilities(id),
        PRIMARY KEY (staff_id, facility_id)
    ) WITHOUT ROWID;
    """,
    # 14: the survey after a visit (services.surveys): one answer per participant per visit,
    # with the visit's facility copied in so that a month's answers of some facilities are read
    # from one index.
    """
    CREATE TABLE survey_answers (
        visit_id TEXT NOT NULL REFERENCES visits(id),
        participant_id TEXT NOT NULL REFERENCES participants(id),
        facility_id TEXT NOT NULL, answered_ms INTEGER NOT NULL,
        language TEXT NOT NULL CHECK (language IN ('id', 'en')),
        overall INTEGER NOT NULL CHECK (overall BETWEEN 1 AND 4),
        registration INTEGER NOT NULL CHECK (registration BETWEEN 1 AND 4),
        on_time INTEGER NOT NULL CHECK (on_time BETWEEN 1 AND 4),
        officers INTEGER NOT NULL CHECK (officers BETWEEN 1 AND 4),
        sound INTEGER NOT NULL CHECK (sound BETWEEN 1 AND 5),
        picture INTEGER NOT NULL CHECK (picture BETWEEN 1 AND 5),
        asked_to_pay INTEGER NOT NULL CHECK (asked_to_pay IN (0, 1)),
        comment TEXT NOT NULL CHECK (length(comment) <= 1000),
        PRIMARY KEY (visit_id, participant_id)
    ) WITHOUT ROWID;
    CREATE INDEX survey_answers_facility ON survey_answers(facility_id, answered_ms);
    """,
    # 15: a password reset ends the account's sessions without disabling it (`sessions`: a
    # revocation lifted as it is written, refusing every token issued before it); a visitor's
    # block may end (`until_ms`: it stops applying then). SQLite cannot change a CHECK, so the
    # table is rebuilt as in step 4, keeping every seq and the AUTOINCREMENT counter.
    """
    CREATE TABLE revocations_v16 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL
            CHECK (kind IN ('token', 'participant', 'staff', 'visitor', 'sessions')),
        subject TEXT NOT NULL, ts_ms INTEGER NOT NULL, exp_ms INTEGER, lifted_ms INTEGER,
        until_ms INTEGER,
        UNIQUE (kind, subject)
    );
    INSERT INTO revocations_v16 (seq, kind, subject, ts_ms, exp_ms, lifted_ms)
        SELECT seq, kind, subject, ts_ms, exp_ms, lifted_ms FROM revocations;
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'revocations_v16', seq FROM sqlite_sequence WHERE name = 'revocations'
        AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'revocations_v16');
    DROP TABLE revocations;
    ALTER TABLE revocations_v16 RENAME TO revocations;
    CREATE INDEX revocations_token_exp ON revocations(exp_ms) WHERE kind = 'token';
    """,
    # 16: make-up visits. A facility's rule (`makeup_after_min`: minutes of system-caused loss
    # beyond which a visit earns one; NULL: off), the offers (one per original visit;
    # `used_visit_id` the make-up visit once the family takes it), and the offerer's place in
    # the audit log, moved in the transaction that adds the offers of the events before it.
    """
    ALTER TABLE booking_policies ADD COLUMN makeup_after_min INTEGER
        CHECK (makeup_after_min BETWEEN 1 AND 120);
    CREATE TABLE makeup_offers (
        visit_id TEXT PRIMARY KEY REFERENCES visits(id),
        facility_id TEXT NOT NULL REFERENCES facilities(id),
        visitor_id TEXT NOT NULL REFERENCES visitors(id),
        lost_ms INTEGER NOT NULL CHECK (lost_ms > 0),
        created_ms INTEGER NOT NULL,
        used_visit_id TEXT UNIQUE REFERENCES visits(id)
    ) WITHOUT ROWID;
    CREATE TABLE makeup_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    """,
)
