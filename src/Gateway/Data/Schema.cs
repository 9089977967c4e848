namespace Gateway.Data;

// Versioned migrations, applied in order inside one transaction so that concurrent starters serialise.
internal sealed class Schema(Database database)
{
    // Each migration in both dialects, written out: SQLite's integers are 64-bit, so PostgreSQL gets BIGINT wherever SQLite says INTEGER.
    // Versions are positions in this list: never reorder or edit one that has shipped, append a new one.
    private static readonly Migration[] Migrations =
    [
        new(
            Sqlite: """
            CREATE TABLE amo_tokens (
                account TEXT PRIMARY KEY,
                access_token TEXT NOT NULL,
                refresh_token TEXT NULL,
                expires_at INTEGER NOT NULL,
                base_domain TEXT NULL,
                long_lived INTEGER NOT NULL DEFAULT 0,
                generation INTEGER NOT NULL,
                refresh_token_issued_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                state TEXT NOT NULL,
                state_reason TEXT NULL,
                last_refresh_at INTEGER NULL,
                last_refresh_outcome TEXT NULL,
                refresh_started_at INTEGER NULL,
                next_refresh_attempt_at INTEGER NULL,
                failed_refreshes INTEGER NOT NULL DEFAULT 0,
                imported_file_mtime INTEGER NULL
            );
            CREATE TABLE oauth_states (
                state TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            );
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE amo_tokens (
                account TEXT PRIMARY KEY,
                access_token TEXT NOT NULL,
                refresh_token TEXT NULL,
                expires_at BIGINT NOT NULL,
                base_domain TEXT NULL,
                long_lived BIGINT NOT NULL DEFAULT 0,
                generation BIGINT NOT NULL,
                refresh_token_issued_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                state TEXT NOT NULL,
                state_reason TEXT NULL,
                last_refresh_at BIGINT NULL,
                last_refresh_outcome TEXT NULL,
                refresh_started_at BIGINT NULL,
                next_refresh_attempt_at BIGINT NULL,
                failed_refreshes BIGINT NOT NULL DEFAULT 0,
                imported_file_mtime BIGINT NULL
            );
            CREATE TABLE oauth_states (
                state TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            """),
        new(
            Sqlite: """
            CREATE TABLE leads (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                account TEXT NOT NULL,
                source_uid TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                payload TEXT NOT NULL,
                caller_ip TEXT NULL,
                idempotency_scope TEXT NULL,
                idempotency_key TEXT NULL,
                request_hash TEXT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                lease_until INTEGER NULL,
                claim_token TEXT NULL,
                solo INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NULL,
                amo_uid TEXT NULL,
                amo_lead_id INTEGER NULL,
                amo_contact_id INTEGER NULL,
                amo_answer TEXT NULL,
                note_text TEXT NULL,
                note_status TEXT NULL,
                note_id INTEGER NULL,
                note_attempts INTEGER NOT NULL DEFAULT 0,
                note_next_attempt_at INTEGER NULL,
                note_lease_until INTEGER NULL,
                note_claim_token TEXT NULL,
                note_error TEXT NULL,
                note_solo INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                queued_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                delivered_at INTEGER NULL
            );
            CREATE UNIQUE INDEX leads_idempotency ON leads (account, idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX leads_due ON leads (account, status, next_attempt_at);
            CREATE INDEX leads_leased ON leads (account, status, lease_until);
            CREATE INDEX leads_notes_due ON leads (account, note_status, note_next_attempt_at);
            CREATE INDEX leads_notes_leased ON leads (account, note_status, note_lease_until);
            CREATE INDEX leads_delivered ON leads (status, delivered_at);
            CREATE TABLE account_delivery (
                account TEXT PRIMARY KEY,
                paused_until INTEGER NULL,
                pause_reason TEXT NULL,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                batch_size INTEGER NULL,
                changed_at INTEGER NULL
            );
            """,
            Postgres: """
            CREATE TABLE leads (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                account TEXT NOT NULL,
                source_uid TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                payload TEXT NOT NULL,
                caller_ip TEXT NULL,
                idempotency_scope TEXT NULL,
                idempotency_key TEXT NULL,
                request_hash TEXT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                lease_until BIGINT NULL,
                claim_token TEXT NULL,
                solo BIGINT NOT NULL DEFAULT 0,
                last_error TEXT NULL,
                amo_uid TEXT NULL,
                amo_lead_id BIGINT NULL,
                amo_contact_id BIGINT NULL,
                amo_answer TEXT NULL,
                note_text TEXT NULL,
                note_status TEXT NULL,
                note_id BIGINT NULL,
                note_attempts BIGINT NOT NULL DEFAULT 0,
                note_next_attempt_at BIGINT NULL,
                note_lease_until BIGINT NULL,
                note_claim_token TEXT NULL,
                note_error TEXT NULL,
                note_solo BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                queued_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                delivered_at BIGINT NULL
            );
            CREATE UNIQUE INDEX leads_idempotency ON leads (account, idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX leads_due ON leads (account, status, next_attempt_at);
            CREATE INDEX leads_leased ON leads (account, status, lease_until);
            CREATE INDEX leads_notes_due ON leads (account, note_status, note_next_attempt_at);
            CREATE INDEX leads_notes_leased ON leads (account, note_status, note_lease_until);
            CREATE INDEX leads_delivered ON leads (status, delivered_at);
            CREATE TABLE account_delivery (
                account TEXT PRIMARY KEY,
                paused_until BIGINT NULL,
                pause_reason TEXT NULL,
                consecutive_failures BIGINT NOT NULL DEFAULT 0,
                batch_size BIGINT NULL,
                changed_at BIGINT NULL
            );
            """),
        new(
            Sqlite: """
            CREATE TABLE amo_rate_slots (
                account TEXT NOT NULL,
                slot INTEGER NOT NULL,
                holder TEXT NULL,
                busy_until INTEGER NOT NULL,
                PRIMARY KEY (account, slot)
            );
            CREATE TABLE data_protection_keys (
                name TEXT PRIMARY KEY,
                xml TEXT NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE amo_rate_slots (
                account TEXT NOT NULL,
                slot BIGINT NOT NULL,
                holder TEXT NULL,
                busy_until BIGINT NOT NULL,
                PRIMARY KEY (account, slot)
            );
            CREATE TABLE data_protection_keys (
                name TEXT PRIMARY KEY,
                xml TEXT NOT NULL
            );
            """),
        new(
            Sqlite: """
            ALTER TABLE amo_tokens ADD COLUMN imported_token_hash TEXT NULL;
            """,
            Postgres: """
            ALTER TABLE amo_tokens ADD COLUMN imported_token_hash TEXT NULL;
            """),
        // Consent: the amoCRM account id a token belongs to; states bound to the admin (and browser) that started them, capped per account.
        new(
            Sqlite: """
            ALTER TABLE amo_tokens ADD COLUMN amo_account_id INTEGER NULL;
            ALTER TABLE oauth_states ADD COLUMN admin TEXT NULL;
            ALTER TABLE oauth_states ADD COLUMN browser_hash TEXT NULL;
            CREATE INDEX oauth_states_account ON oauth_states (account, expires_at);
            CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
            """,
            Postgres: """
            ALTER TABLE amo_tokens ADD COLUMN amo_account_id BIGINT NULL;
            ALTER TABLE oauth_states ADD COLUMN admin TEXT NULL;
            ALTER TABLE oauth_states ADD COLUMN browser_hash TEXT NULL;
            CREATE INDEX oauth_states_account ON oauth_states (account, expires_at);
            CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
            """),
        // Admin sign-in: server-side sessions, so signing out revokes and every instance knows them.
        new(
            Sqlite: """
            CREATE TABLE admin_sessions (
                id TEXT PRIMARY KEY,
                admin TEXT NOT NULL,
                method TEXT NOT NULL,
                key_hash TEXT NULL,
                created_at INTEGER NOT NULL,
                last_seen_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL
            );
            CREATE INDEX admin_sessions_created ON admin_sessions (created_at);
            """,
            Postgres: """
            CREATE TABLE admin_sessions (
                id TEXT PRIMARY KEY,
                admin TEXT NOT NULL,
                method TEXT NOT NULL,
                key_hash TEXT NULL,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE INDEX admin_sessions_created ON admin_sessions (created_at);
            """),
        // Secrets at rest: the data key that seals personal data, protected by the key ring.
        new(
            Sqlite: """
            CREATE TABLE protected_secrets (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE protected_secrets (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL
            );
            """),
        // Lost answers: a lead (or note) sent whose outcome is not known yet, since when; looked for before it goes again.
        new(
            Sqlite: """
            ALTER TABLE leads ADD COLUMN unconfirmed_since INTEGER NULL;
            ALTER TABLE leads ADD COLUMN note_unconfirmed_since INTEGER NULL;
            """,
            Postgres: """
            ALTER TABLE leads ADD COLUMN unconfirmed_since BIGINT NULL;
            ALTER TABLE leads ADD COLUMN note_unconfirmed_since BIGINT NULL;
            """),
        // The intake's W3C traceparent: every later delivery attempt of the lead, on any instance, joins its trace.
        new(
            Sqlite: "ALTER TABLE leads ADD COLUMN trace_parent TEXT NULL;",
            Postgres: "ALTER TABLE leads ADD COLUMN trace_parent TEXT NULL;"),
        // Accounts an admin added (beside ACCOUNTS_FILE): the entry as the file would hold it, encrypted (it holds the
        // client secret); the domain in the clear so the keys file may name the account before the key ring is ready.
        new(
            Sqlite: """
            CREATE TABLE stored_accounts (
                domain TEXT PRIMARY KEY,
                entry TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE stored_accounts (
                domain TEXT PRIMARY KEY,
                entry TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            """),
        // Form webhooks (Sources/): every authenticated submission as it came (body sealed), and what became of it.
        new(
            Sqlite: """
            CREATE TABLE submissions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                account TEXT NOT NULL,
                tool TEXT NOT NULL,
                key_name TEXT NULL,
                form TEXT NULL,
                content_type TEXT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL,
                problem TEXT NULL,
                lead_id INTEGER NULL,
                received_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX submissions_account_status ON submissions (account, status, id);
            """,
            Postgres: """
            CREATE TABLE submissions (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                account TEXT NOT NULL,
                tool TEXT NOT NULL,
                key_name TEXT NULL,
                form TEXT NULL,
                content_type TEXT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL,
                problem TEXT NULL,
                lead_id BIGINT NULL,
                received_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE INDEX submissions_account_status ON submissions (account, status, id);
            """),
        // Events out (callbacks, subscriptions, Telegram): each event once, each delivery of it a durable row of its own;
        // the per-account secret in amoCRM's webhook path, sealed.
        new(
            Sqlite: """
            CREATE TABLE events (
                id TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                type TEXT NOT NULL,
                body TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX events_created ON events (created_at);
            CREATE TABLE event_deliveries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL,
                account TEXT NOT NULL,
                kind TEXT NOT NULL,
                destination TEXT NOT NULL,
                target TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                give_up_at INTEGER NOT NULL,
                lease_until INTEGER NULL,
                claim_token TEXT NULL,
                last_error TEXT NULL,
                created_at INTEGER NOT NULL,
                delivered_at INTEGER NULL
            );
            CREATE UNIQUE INDEX event_deliveries_once ON event_deliveries (event_id, kind, destination);
            CREATE INDEX event_deliveries_due ON event_deliveries (status, next_attempt_at);
            CREATE TABLE amo_webhook_secrets (
                account TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                created_at INTEGER NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE events (
                id TEXT PRIMARY KEY,
                account TEXT NOT NULL,
                type TEXT NOT NULL,
                body TEXT NOT NULL,
                occurred_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            );
            CREATE INDEX events_created ON events (created_at);
            CREATE TABLE event_deliveries (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                event_id TEXT NOT NULL,
                account TEXT NOT NULL,
                kind TEXT NOT NULL,
                destination TEXT NOT NULL,
                target TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                give_up_at BIGINT NOT NULL,
                lease_until BIGINT NULL,
                claim_token TEXT NULL,
                last_error TEXT NULL,
                created_at BIGINT NOT NULL,
                delivered_at BIGINT NULL
            );
            CREATE UNIQUE INDEX event_deliveries_once ON event_deliveries (event_id, kind, destination);
            CREATE INDEX event_deliveries_due ON event_deliveries (status, next_attempt_at);
            CREATE TABLE amo_webhook_secrets (
                account TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL
            );
            """),
        // A settled lead whose lead.delivered / lead.failed is owed but not yet stored as an event: set in the
        // settlement's own commit, cleared once the event is stored, so a crash in between is made good after it.
        new(
            Sqlite: """
            ALTER TABLE leads ADD COLUMN outcome_event INTEGER NULL;
            CREATE INDEX leads_outcome_event ON leads (updated_at) WHERE outcome_event IS NOT NULL;
            """,
            Postgres: """
            ALTER TABLE leads ADD COLUMN outcome_event SMALLINT NULL;
            CREATE INDEX leads_outcome_event ON leads (updated_at) WHERE outcome_event IS NOT NULL;
            """),
        // Telegram's pace, shared by every instance (Events/TelegramClusterPace): a chat's next free moment, the bot's slots.
        new(
            Sqlite: """
            CREATE TABLE telegram_pace (
                scope TEXT NOT NULL,
                slot INTEGER NOT NULL,
                free_at INTEGER NOT NULL,
                PRIMARY KEY (scope, slot)
            );
            """,
            Postgres: """
            CREATE TABLE telegram_pace (
                scope TEXT NOT NULL,
                slot INTEGER NOT NULL,
                free_at BIGINT NOT NULL,
                PRIMARY KEY (scope, slot)
            );
            """),
        // Issue 17, delivery modes and contacts: a lead's recorded steps (search → create/link → note) and what they
        // found; the contact cache maps a keyed hash of a normalised phone or email to a contact id, per account.
        new(
            Sqlite: """
            ALTER TABLE leads ADD COLUMN delivery_steps TEXT NULL;
            ALTER TABLE leads ADD COLUMN contact_resolved INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE leads ADD COLUMN linked_contact_id INTEGER NULL;
            ALTER TABLE leads ADD COLUMN contact_responsible_user_id INTEGER NULL;
            ALTER TABLE leads ADD COLUMN target_lead_id INTEGER NULL;
            CREATE TABLE contact_keys (
                account TEXT NOT NULL,
                key_hash TEXT NOT NULL,
                contact_id INTEGER NOT NULL,
                responsible_user_id INTEGER NULL,
                learned_at INTEGER NOT NULL,
                PRIMARY KEY (account, key_hash)
            );
            CREATE INDEX contact_keys_contact ON contact_keys (account, contact_id);
            """,
            Postgres: """
            ALTER TABLE leads ADD COLUMN delivery_steps TEXT NULL;
            ALTER TABLE leads ADD COLUMN contact_resolved INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE leads ADD COLUMN linked_contact_id BIGINT NULL;
            ALTER TABLE leads ADD COLUMN contact_responsible_user_id BIGINT NULL;
            ALTER TABLE leads ADD COLUMN target_lead_id BIGINT NULL;
            CREATE TABLE contact_keys (
                account TEXT NOT NULL,
                key_hash TEXT NOT NULL,
                contact_id BIGINT NOT NULL,
                responsible_user_id BIGINT NULL,
                learned_at BIGINT NOT NULL,
                PRIMARY KEY (account, key_hash)
            );
            CREATE INDEX contact_keys_contact ON contact_keys (account, contact_id);
            """),
        // Issue 17: the lead's responsible user (picked once, before the send), its follow-up task (a queue of its own on the
        // lead's row, like the note), and the round-robin counters.
        new(
            Sqlite: """
            ALTER TABLE leads ADD COLUMN assigned_at INTEGER NULL;
            ALTER TABLE leads ADD COLUMN responsible_user_id INTEGER NULL;
            ALTER TABLE leads ADD COLUMN responsible_reason TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_spec TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_status TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_entity_id INTEGER NULL;
            ALTER TABLE leads ADD COLUMN task_id INTEGER NULL;
            ALTER TABLE leads ADD COLUMN task_due_at INTEGER NULL;
            ALTER TABLE leads ADD COLUMN task_error TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_attempts INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE leads ADD COLUMN task_next_attempt_at INTEGER NULL;
            ALTER TABLE leads ADD COLUMN task_lease_until INTEGER NULL;
            ALTER TABLE leads ADD COLUMN task_claim_token TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_unconfirmed_since INTEGER NULL;
            CREATE INDEX leads_task_due ON leads (account, task_status, task_next_attempt_at);
            CREATE TABLE round_robin (account TEXT NOT NULL, list_key TEXT NOT NULL, counter INTEGER NOT NULL, PRIMARY KEY (account, list_key));
            """,
            Postgres: """
            ALTER TABLE leads ADD COLUMN assigned_at BIGINT NULL;
            ALTER TABLE leads ADD COLUMN responsible_user_id BIGINT NULL;
            ALTER TABLE leads ADD COLUMN responsible_reason TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_spec TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_status TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_entity_id BIGINT NULL;
            ALTER TABLE leads ADD COLUMN task_id BIGINT NULL;
            ALTER TABLE leads ADD COLUMN task_due_at BIGINT NULL;
            ALTER TABLE leads ADD COLUMN task_error TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_attempts BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE leads ADD COLUMN task_next_attempt_at BIGINT NULL;
            ALTER TABLE leads ADD COLUMN task_lease_until BIGINT NULL;
            ALTER TABLE leads ADD COLUMN task_claim_token TEXT NULL;
            ALTER TABLE leads ADD COLUMN task_unconfirmed_since BIGINT NULL;
            CREATE INDEX leads_task_due ON leads (account, task_status, task_next_attempt_at);
            CREATE TABLE round_robin (account TEXT NOT NULL, list_key TEXT NOT NULL, counter BIGINT NOT NULL, PRIMARY KEY (account, list_key));
            """),
        // The console's search (issue 18): blind indexes of the contact's phone, email and name, written at intake; rows
        // stored before have none and are not found by those filters.
        new(
            Sqlite: """
            ALTER TABLE leads ADD COLUMN phone_index TEXT NULL;
            ALTER TABLE leads ADD COLUMN email_index TEXT NULL;
            ALTER TABLE leads ADD COLUMN name_index TEXT NULL;
            CREATE INDEX leads_phone_index ON leads (account, phone_index) WHERE phone_index IS NOT NULL;
            CREATE INDEX leads_email_index ON leads (account, email_index) WHERE email_index IS NOT NULL;
            CREATE INDEX leads_name_index ON leads (account, name_index) WHERE name_index IS NOT NULL;
            """,
            Postgres: """
            ALTER TABLE leads ADD COLUMN phone_index TEXT NULL;
            ALTER TABLE leads ADD COLUMN email_index TEXT NULL;
            ALTER TABLE leads ADD COLUMN name_index TEXT NULL;
            CREATE INDEX leads_phone_index ON leads (account, phone_index) WHERE phone_index IS NOT NULL;
            CREATE INDEX leads_email_index ON leads (account, email_index) WHERE email_index IS NOT NULL;
            CREATE INDEX leads_name_index ON leads (account, name_index) WHERE name_index IS NOT NULL;
            """),
        // A lead's trace (issue 18): each amoCRM call made for it, bounded per lead by Outbox.LeadCallStore.
        new(
            Sqlite: """
            CREATE TABLE lead_calls (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                account TEXT NOT NULL,
                lead_id INTEGER NOT NULL,
                step TEXT NOT NULL,
                at INTEGER NOT NULL,
                method TEXT NOT NULL,
                path TEXT NOT NULL,
                http_status INTEGER NULL,
                duration_ms INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                error TEXT NULL,
                body TEXT NULL
            );
            CREATE INDEX lead_calls_lead ON lead_calls (account, lead_id, id);
            """,
            Postgres: """
            CREATE TABLE lead_calls (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                account TEXT NOT NULL,
                lead_id BIGINT NOT NULL,
                step TEXT NOT NULL,
                at BIGINT NOT NULL,
                method TEXT NOT NULL,
                path TEXT NOT NULL,
                http_status BIGINT NULL,
                duration_ms BIGINT NOT NULL,
                outcome TEXT NOT NULL,
                error TEXT NULL,
                body TEXT NULL
            );
            CREATE INDEX lead_calls_lead ON lead_calls (account, lead_id, id);
            """),
        // API keys an admin created in the console (beside API_KEYS_FILE): the entry as the file would hold it, with the
        // key's SHA-256 only; last_used_at written at most once a minute per key and instance.
        new(
            Sqlite: """
            CREATE TABLE stored_api_keys (
                name TEXT PRIMARY KEY,
                sha256 TEXT NOT NULL UNIQUE,
                entry TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                last_used_at INTEGER NULL
            );
            """,
            Postgres: """
            CREATE TABLE stored_api_keys (
                name TEXT PRIMARY KEY,
                sha256 TEXT NOT NULL UNIQUE,
                entry TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                last_used_at BIGINT NULL
            );
            """),
        // Form profiles an admin saved in the console (beside SOURCES_FILE), one per tool and form: the profile as the
        // file would hold it.
        new(
            Sqlite: """
            CREATE TABLE stored_source_profiles (
                id TEXT PRIMARY KEY,
                profile TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """,
            Postgres: """
            CREATE TABLE stored_source_profiles (
                id TEXT PRIMARY KEY,
                profile TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            """),
        // Every write of a lead that changes its status is a new row version, with a new entry in each of its indexes.
        // Most leads have no note and no task: partial indexes leave them out of those ("= @x" on the column implies
        // "IS NOT NULL" for both planners). The lease indexes go: the rows being delivered of an account are a few
        // batches, found through the due index's (account, status), and a renewed lease (lease_until alone) can then
        // be rewritten in place by PostgreSQL (a HOT update, no index touched). Together about half the index entries
        // per write of a lead while it is delivered.
        new(
            Sqlite: PartialStepIndexes,
            Postgres: PartialStepIndexes),
        // When a claim holding the lead ran out (its claimant stopped or stalled, perhaps after an unsorted send that
        // wrote nothing before it): the unsorted lookup honours it like unconfirmed_since, lead mode does not (its create
        // is always marked just before it goes, and its look matches by name, which a lead never sent could mistake).
        new(
            Sqlite: "ALTER TABLE leads ADD COLUMN lapsed_since INTEGER NULL;",
            Postgres: "ALTER TABLE leads ADD COLUMN lapsed_since BIGINT NULL;"),
    ];

    private const string PartialStepIndexes = """
        DROP INDEX leads_leased;
        DROP INDEX leads_notes_due;
        DROP INDEX leads_notes_leased;
        DROP INDEX leads_task_due;
        CREATE INDEX leads_notes_due ON leads (account, note_status, note_next_attempt_at) WHERE note_status IS NOT NULL;
        CREATE INDEX leads_task_due ON leads (account, task_status, task_next_attempt_at) WHERE task_status IS NOT NULL;
        """;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        if (!database.IsPostgres)
        {
            await Sql.ExecuteAsync(connection, "PRAGMA journal_mode = WAL;", cancellationToken);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // SQLite: the first write takes the write lock. PostgreSQL: an advisory lock per schema. Either way a second
        // instance starting at the same moment waits here instead of racing.
        if (database.IsPostgres)
        {
            await Sql.ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(7305, hashtext(current_schema()))", transaction, [], cancellationToken);
        }

        await Sql.ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", transaction, [], cancellationToken);
        var current = await Sql.ScalarInt64Async(connection, "SELECT MAX(version) FROM schema_version", transaction, [], cancellationToken) ?? 0;
        for (var version = (int)current; version < Migrations.Length; version++)
        {
            await Sql.ExecuteAsync(connection, database.IsPostgres ? Migrations[version].Postgres : Migrations[version].Sqlite, transaction, [], cancellationToken);
            await Sql.ExecuteAsync(connection, "INSERT INTO schema_version (version) VALUES (@v)", transaction, [("v", version + 1)], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (database.FilePath is { } file)
        {
            DataDirectory.RestrictFile(file);
        }
    }

    private sealed record Migration(string Sqlite, string Postgres);
}
