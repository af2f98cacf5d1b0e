-- Redoubt schema v1: accounts, sessions, rooms, messages with a gapless per-room sequence,
-- room events, reactions, mentions, audit log. Applied by `redoubtctl migrate` as redoubt_owner.
-- Grants give redoubt_app only DML it needs and redoubt_worker only what its jobs read.

CREATE TABLE users (
  id              bigserial PRIMARY KEY,
  username        text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,31}$'),
  email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  display_name    text NOT NULL DEFAULT '' CHECK (length(display_name) <= 64),
  password_hash   text NOT NULL,
  is_admin        boolean NOT NULL DEFAULT false,
  disabled        boolean NOT NULL DEFAULT false,
  email_verified  boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE sessions (
  id            bigserial PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash    text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 256),
  ip            text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE rooms (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
  name        text NOT NULL CHECK (length(name) <= 400),
  topic       text NOT NULL DEFAULT '' CHECK (length(topic) <= 2000),
  dm_key      text UNIQUE,  -- "<low user id>:<high user id>" for direct rooms
  created_by  bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_seq    bigint NOT NULL DEFAULT 0,
  CHECK ((kind = 'direct') = (dm_key IS NOT NULL))
);
CREATE UNIQUE INDEX rooms_name_key ON rooms (lower(name)) WHERE kind <> 'direct';

CREATE TABLE room_members (
  room_id        bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  user_id        bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role           text NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
  joined_at      timestamptz NOT NULL DEFAULT now(),
  last_read_seq  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id);

CREATE TABLE messages (
  id          bigserial PRIMARY KEY,
  room_id     bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq         bigint NOT NULL,
  author_id   bigint NOT NULL REFERENCES users(id),
  client_id   text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
  body        text NOT NULL,
  reply_to    bigint REFERENCES messages(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  edited_at   timestamptz,
  deleted_at  timestamptz,
  UNIQUE (room_id, seq),
  UNIQUE (author_id, client_id)
);

-- Every change to a room other than a new message takes the next seq too, so that a
-- reconnecting client can replay exactly what it missed.
CREATE TABLE room_events (
  room_id     bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  seq         bigint NOT NULL,
  kind        text NOT NULL,
  actor_id    bigint REFERENCES users(id),
  data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (room_id, seq)
);

CREATE TABLE reactions (
  message_id  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  emoji       text NOT NULL CHECK (length(emoji) BETWEEN 1 AND 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, user_id, emoji)
);

CREATE TABLE mentions (
  message_id  bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (message_id, user_id)
);
CREATE INDEX mentions_user_idx ON mentions (user_id);

-- Tamper-evident audit log: each row carries the SHA-256 of its content and of the
-- previous row. The app and the worker may only INSERT; the chain is filled in by a trigger.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_id    bigint,
  action      text NOT NULL,
  target      text NOT NULL DEFAULT '',
  ip          text NOT NULL DEFAULT '',
  request_id  text NOT NULL DEFAULT '',
  outcome     text NOT NULL DEFAULT 'ok',
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash   text NOT NULL DEFAULT '',
  hash        text NOT NULL DEFAULT ''
);

CREATE FUNCTION audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  previous text;
BEGIN
  PERFORM pg_advisory_xact_lock(7001);  -- one writer at a time keeps the chain linear
  -- Ids are taken under the lock so that id order is chain order (the default was drawn before).
  NEW.id := nextval('audit_log_id_seq');
  SELECT hash INTO previous FROM audit_log ORDER BY id DESC LIMIT 1;
  NEW.at := clock_timestamp();
  NEW.prev_hash := coalesce(previous, '');
  NEW.hash := encode(sha256(convert_to(concat_ws('|', NEW.id, iso(NEW.at), NEW.actor_id, NEW.action,
      NEW.target, NEW.ip, NEW.request_id, NEW.outcome, NEW.details::text, NEW.prev_hash), 'UTF8')), 'hex');
  RETURN NEW;
END $$;
CREATE TRIGGER audit_chain_trg BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_chain();

-- ISO 8601 UTC text for timestamps in API responses.
CREATE FUNCTION iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- Takes the next seq of a room and records a non-message event; returns the seq.
CREATE FUNCTION room_event(p_room bigint, p_kind text, p_actor bigint, p_data jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
BEGIN
  UPDATE rooms SET last_seq = last_seq + 1 WHERE id = p_room RETURNING last_seq INTO s;
  IF s IS NULL THEN
    RAISE EXCEPTION 'room % not found', p_room USING ERRCODE = 'P0002';
  END IF;
  INSERT INTO room_events (room_id, seq, kind, actor_id, data) VALUES (p_room, s, p_kind, p_actor, p_data);
  RETURN s;
END $$;

-- post_batch (group commit) lives in R__functions.sql.

-- Edits a live message and records the event; NULL when it is gone.
CREATE FUNCTION edit_message(p_id bigint, p_body text, p_actor bigint)
RETURNS TABLE (room_id bigint, seq bigint, edited_at text) LANGUAGE plpgsql AS $$
DECLARE
  r bigint;
  ts timestamptz;
BEGIN
  UPDATE messages m SET body = p_body, edited_at = now()
   WHERE m.id = p_id AND m.deleted_at IS NULL RETURNING m.room_id, m.edited_at INTO r, ts;
  IF r IS NULL THEN RETURN; END IF;
  RETURN QUERY SELECT r, room_event(r, 'message_edited', p_actor,
      jsonb_build_object('message_id', p_id, 'body', p_body, 'edited_at', iso(ts))), iso(ts);
END $$;

-- Deletes (tombstones) a message and records the event; no row when already gone.
CREATE FUNCTION delete_message(p_id bigint, p_actor bigint)
RETURNS TABLE (room_id bigint, seq bigint) LANGUAGE plpgsql AS $$
DECLARE
  r bigint;
BEGIN
  UPDATE messages m SET body = '', deleted_at = now()
   WHERE m.id = p_id AND m.deleted_at IS NULL RETURNING m.room_id INTO r;
  IF r IS NULL THEN RETURN; END IF;
  DELETE FROM reactions WHERE message_id = p_id;
  RETURN QUERY SELECT r, room_event(r, 'message_deleted', p_actor, jsonb_build_object('message_id', p_id));
END $$;

-- Adds or removes a reaction and records the event; no row when nothing changed.
CREATE FUNCTION set_reaction(p_id bigint, p_user bigint, p_emoji text, p_add boolean)
RETURNS TABLE (room_id bigint, seq bigint) LANGUAGE plpgsql AS $$
DECLARE
  r bigint;
  n bigint;
BEGIN
  SELECT m.room_id INTO r FROM messages m WHERE m.id = p_id AND m.deleted_at IS NULL;
  IF r IS NULL THEN RETURN; END IF;
  IF p_add THEN
    INSERT INTO reactions (message_id, user_id, emoji) VALUES (p_id, p_user, p_emoji) ON CONFLICT DO NOTHING;
  ELSE
    DELETE FROM reactions WHERE message_id = p_id AND user_id = p_user AND emoji = p_emoji;
  END IF;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN RETURN; END IF;
  RETURN QUERY SELECT r, room_event(r, CASE WHEN p_add THEN 'reaction_added' ELSE 'reaction_removed' END,
      p_user, jsonb_build_object('message_id', p_id, 'user_id', p_user, 'emoji', p_emoji));
END $$;

-- Changes the topic and records the event.
CREATE FUNCTION set_topic(p_room bigint, p_topic text, p_actor bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  UPDATE rooms SET topic = p_topic WHERE id = p_room;
  RETURN room_event(p_room, 'topic_changed', p_actor, jsonb_build_object('topic', p_topic));
END $$;

-- Least privilege: the app gets DML on chat tables, INSERT-only on the audit log.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO redoubt_app, redoubt_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, rooms, room_members, messages,
  room_events, reactions, mentions TO redoubt_app;
GRANT INSERT ON audit_log TO redoubt_app, redoubt_worker;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO redoubt_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO redoubt_worker;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON FUNCTION iso(timestamptz) TO redoubt_app, redoubt_worker;
GRANT EXECUTE ON FUNCTION room_event(bigint, text, bigint, jsonb), edit_message(bigint, text, bigint),
  delete_message(bigint, bigint), set_reaction(bigint, bigint, text, boolean),
  set_topic(bigint, text, bigint) TO redoubt_app;
REVOKE EXECUTE ON FUNCTION audit_chain() FROM PUBLIC;
-- The worker reads what its jobs need (ids, addresses, room membership) and never
-- password hashes, sessions or message writes.
GRANT SELECT (id, username, email, display_name, disabled, email_verified) ON users TO redoubt_worker;
GRANT SELECT ON rooms, room_members TO redoubt_worker;
GRANT SELECT (id, room_id, seq, author_id, created_at, deleted_at) ON messages TO redoubt_worker;
GRANT SELECT ON mentions TO redoubt_worker;

-- pgaudit object auditing (when installed): every read of the audit log and every change to
-- accounts' privileges is logged by the database itself.
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'redoubt_auditor') THEN
    GRANT SELECT ON audit_log TO redoubt_auditor;
    GRANT UPDATE (is_admin, disabled, password_hash) ON users TO redoubt_auditor;
  END IF;
END $$;
