-- One schema for SQLite and PostgreSQL: TEXT and BIGINT only, rows carry their domain object as JSON in `data`.
-- `ends_at`: when the account ends (see `account_ends`, which also adds it to an older database and indexes it).
CREATE TABLE IF NOT EXISTS people (id TEXT PRIMARY KEY, data TEXT NOT NULL, ends_at BIGINT);
CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, person TEXT NOT NULL, data TEXT NOT NULL);
-- The WireGuard key of each live device, so enrolling checks a key is free without reading every device.
CREATE TABLE IF NOT EXISTS device_keys (wireguard_key TEXT PRIMARY KEY, device TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS device_keys_device ON device_keys (device);
CREATE INDEX IF NOT EXISTS devices_person ON devices (person);
-- Who is in which group (people's records hold their groups): a group's members without reading everyone.
CREATE TABLE IF NOT EXISTS person_groups (grp TEXT NOT NULL, person TEXT NOT NULL, PRIMARY KEY (grp, person));
CREATE INDEX IF NOT EXISTS person_groups_person ON person_groups (person);
CREATE TABLE IF NOT EXISTS resources (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entitlements (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policies (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gateways (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL, revision BIGINT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens (token_hash TEXT PRIMARY KEY, person TEXT NOT NULL, expires_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, requester TEXT NOT NULL, pending BIGINT NOT NULL, expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS requests_pending ON requests (pending, expires_at);
CREATE INDEX IF NOT EXISTS requests_requester ON requests (requester, created_at);
-- `device`: the grant's device, for the silence check (a database from before it gets it in `fill_grant_devices`).
CREATE TABLE IF NOT EXISTS grants (id TEXT PRIMARY KEY, request_id TEXT NOT NULL, person TEXT NOT NULL, gateway TEXT NOT NULL, ticket TEXT NOT NULL, live BIGINT NOT NULL, not_after BIGINT NOT NULL, issued_at BIGINT NOT NULL, data TEXT NOT NULL, device TEXT);
CREATE INDEX IF NOT EXISTS grants_live ON grants (live, not_after);
CREATE INDEX IF NOT EXISTS grants_gateway ON grants (gateway, live);
CREATE INDEX IF NOT EXISTS grants_ticket ON grants (ticket, live);
CREATE INDEX IF NOT EXISTS grants_person ON grants (person, live);
-- Who holds live grants (the sweep), read from the index alone.
CREATE INDEX IF NOT EXISTS grants_live_person ON grants (live, person);
CREATE TABLE IF NOT EXISTS audit_log (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_subject ON audit_log (subject);
CREATE INDEX IF NOT EXISTS audit_action ON audit_log (action, at);
-- `directory_revision`: writes to people, devices and emergency stops so far (see `Change::directory_revision`).
CREATE TABLE IF NOT EXISTS audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, directory_revision BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit_checkpoints (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posture_nonces (nonce TEXT PRIMARY KEY, device TEXT NOT NULL, expires_at BIGINT NOT NULL, used BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS posture_reports (id TEXT PRIMARY KEY, device TEXT NOT NULL, received_at BIGINT NOT NULL, compliant BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posture_reports_device ON posture_reports (device, received_at);
CREATE INDEX IF NOT EXISTS posture_reports_received ON posture_reports (received_at);
CREATE TABLE IF NOT EXISTS invites (code_hash TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passkeys (id TEXT PRIMARY KEY, person TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ceremonies (id TEXT PRIMARY KEY, used BIGINT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, person TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, person TEXT NOT NULL, rule TEXT NOT NULL, state TEXT NOT NULL, raised_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at);
CREATE INDEX IF NOT EXISTS alerts_person ON alerts (person, rule, raised_at);
CREATE TABLE IF NOT EXISTS places_seen (person TEXT NOT NULL, kind TEXT NOT NULL, place TEXT NOT NULL, first_seen BIGINT NOT NULL, PRIMARY KEY (person, kind, place));
-- Nonces of signed session requests, taken once across every broker sharing PostgreSQL (on SQLite, one broker keeps
-- them in memory). Pruned every half minute by a scan of a few minutes' rows: cheaper than an index kept at every request.
CREATE TABLE IF NOT EXISTS request_nonces (nonce_key TEXT PRIMARY KEY, remember_until BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS siem_cursors (sink TEXT PRIMARY KEY, seq BIGINT NOT NULL, holder TEXT NOT NULL, lease_until BIGINT NOT NULL);
-- Raised by every write to resources, entitlements and policies: brokers keep a copy of the matrix while it stands.
CREATE TABLE IF NOT EXISTS access_matrix_revision (id BIGINT PRIMARY KEY, revision BIGINT NOT NULL);
INSERT INTO access_matrix_revision (id, revision) VALUES (1, 0) ON CONFLICT DO NOTHING;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000') ON CONFLICT DO NOTHING;
INSERT INTO meta (key, value) VALUES ('next_tunnel_host', '2') ON CONFLICT DO NOTHING;
-- Which grants changed at each revision of a gateway's state, so a gateway's stream sends what changed.
CREATE TABLE IF NOT EXISTS gateway_changes (gateway TEXT NOT NULL, revision BIGINT NOT NULL, grant_id TEXT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (gateway, revision, grant_id));
CREATE INDEX IF NOT EXISTS gateway_changes_at ON gateway_changes (at);
-- Emergency stops: `state` is proposed, in_force or lifted (requests and grants check the ones in force).
CREATE TABLE IF NOT EXISTS emergency_stops (id TEXT PRIMARY KEY, state TEXT NOT NULL, proposed_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS emergency_stops_state ON emergency_stops (state);
-- SCIM: users and groups as the identity provider set them (the directory has the people), and SCIM's own tokens.
CREATE TABLE IF NOT EXISTS scim_users (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scim_users_user_name ON scim_users (user_name);
-- A SCIM lookup by user name also finds the people SCIM never provisioned, whose user name is their id.
CREATE INDEX IF NOT EXISTS people_id_lower ON people (lower(id));
CREATE TABLE IF NOT EXISTS scim_groups (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scim_tokens (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
-- Access reviews: campaigns, and one item per standing entitlement of each person in scope (answered or not).
CREATE TABLE IF NOT EXISTS review_campaigns (id TEXT PRIMARY KEY, closed BIGINT NOT NULL, deadline BIGINT NOT NULL, opened_at BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS review_campaigns_open ON review_campaigns (closed, deadline);
CREATE TABLE IF NOT EXISTS review_items (id TEXT PRIMARY KEY, campaign TEXT NOT NULL, answered BIGINT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS review_items_campaign ON review_items (campaign, answered);
