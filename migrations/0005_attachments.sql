-- Redoubt schema v5: file attachments.
--
-- The bytes live encrypted on the file system (see src/files/); a row exists only after its
-- file was written, fsynced and renamed into place, so a row never points at a missing or
-- torn file. A file without a row (a crash before COMMIT) is an orphan that the
-- files_maintenance job removes.

ALTER TABLE users ADD COLUMN storage_quota_bytes bigint
  CHECK (storage_quota_bytes IS NULL OR storage_quota_bytes >= 0);  -- NULL = server default

CREATE TABLE attachments (
  id            bigint PRIMARY KEY,  -- reserved with nextval() before the file is written
  room_id       bigint NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
  uploader_id   bigint NOT NULL REFERENCES users(id),
  message_id    bigint REFERENCES messages(id),
  storage_name  text NOT NULL UNIQUE CHECK (storage_name ~ '^[0-9a-f]{32}$'),
  filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
  content_type  text NOT NULL CHECK (length(content_type) BETWEEN 1 AND 100),
  size          bigint NOT NULL CHECK (size >= 0),
  sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_us    bigint NOT NULL,       -- signed; microseconds since the Unix epoch
  key_id        text NOT NULL CHECK (key_id ~ '^[A-Za-z0-9_-]{1,32}$'),
  wrapped_key   bytea NOT NULL,        -- the file's data key, sealed by master key key_id
  signature     bytea NOT NULL,        -- Ed25519 over the write record (files/file_crypto)
  state         text NOT NULL CHECK (state IN ('ready', 'scanning', 'rejected')),
  thumbnail     bytea,                 -- PNG, sealed with the file's data key (by the worker)
  deleted_at    timestamptz            -- the file is being erased
);
CREATE SEQUENCE attachments_id_seq OWNED BY attachments.id;
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id) WHERE deleted_at IS NULL;
CREATE INDEX attachments_message_idx ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unattached_idx ON attachments (created_us) WHERE message_id IS NULL;

-- What clients see of an attachment (REST, history and live events alike).
CREATE FUNCTION attachment_json(a attachments) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', a.id, 'room', a.room_id, 'uploader', a.uploader_id, 'filename', a.filename,
    'content_type', a.content_type, 'size', a.size, 'sha256', a.sha256,
    'created_at', iso(to_timestamp(a.created_us / 1000000.0)), 'message_id', a.message_id,
    'state', a.state,
    'inline', a.content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp'),
    'thumbnail', a.thumbnail IS NOT NULL)
$$;

-- Stores the row of a written file unless that takes the uploader over quota. Uploads of one
-- user are serialized by an advisory lock so two concurrent uploads cannot both squeeze in.
CREATE FUNCTION attachment_insert(p_id bigint, p_room bigint, p_uploader bigint, p_storage_name text,
                                  p_filename text, p_content_type text, p_size bigint, p_sha256 text,
                                  p_created_us bigint, p_key_id text, p_wrapped_key bytea,
                                  p_signature bytea, p_state text, p_default_quota bigint,
                                  p_correlation text, p_thumbnail_job boolean, p_scan_job boolean)
RETURNS TABLE (status text, attachment text) LANGUAGE plpgsql AS $$
DECLARE
  used bigint;
  quota bigint;
  row attachments;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('attachments:' || p_uploader::text, 0));
  IF NOT EXISTS (SELECT 1 FROM room_members WHERE room_id = p_room AND user_id = p_uploader) THEN
    RETURN QUERY SELECT 'not_member'::text, NULL::text;
    RETURN;
  END IF;
  SELECT coalesce(sum(size), 0) INTO used FROM attachments WHERE uploader_id = p_uploader AND deleted_at IS NULL;
  SELECT coalesce(storage_quota_bytes, p_default_quota) INTO quota FROM users WHERE id = p_uploader;
  IF used + p_size > quota THEN
    RETURN QUERY SELECT 'over_quota'::text, NULL::text;
    RETURN;
  END IF;
  INSERT INTO attachments (id, room_id, uploader_id, storage_name, filename, content_type, size, sha256,
                           created_us, key_id, wrapped_key, signature, state)
  VALUES (p_id, p_room, p_uploader, p_storage_name, p_filename, p_content_type, p_size, p_sha256,
          p_created_us, p_key_id, p_wrapped_key, p_signature, p_state)
  RETURNING * INTO row;
  IF p_scan_job THEN
    INSERT INTO outbox (kind, payload, correlation_id)
    VALUES ('scan_attachment', jsonb_build_object('attachment_id', p_id), p_correlation);
  END IF;
  IF p_thumbnail_job THEN
    INSERT INTO outbox (kind, payload, correlation_id)
    VALUES ('thumbnail', jsonb_build_object('attachment_id', p_id), p_correlation);
  END IF;
  RETURN QUERY SELECT 'ok'::text, attachment_json(row)::text;
END $$;

-- post_batch gains attachments; its current definition lives in R__functions.sql. Databases
-- migrated before that still have the first version (six arguments) from 0001: drop it here so
-- that the repeatable migration does not leave an overload behind.
DROP FUNCTION IF EXISTS post_batch(bigint[], bigint[], text[], text[], bigint[], text[]);

-- The attachments of a live message, as clients see them (history rows).
CREATE FUNCTION message_attachments(p_message bigint) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(attachment_json(a) ORDER BY a.id)::text, '[]')
    FROM attachments a WHERE a.message_id = p_message AND a.deleted_at IS NULL
$$;

-- Maintenance (run by the worker): marks for erasure the attachments nobody can reach any
-- more (their message was deleted or erased by retention, their room is gone, or they were
-- never attached within p_unattached_ttl_s) and returns the storage names of rows marked
-- earlier, deleting those rows: the worker unlinks the files after this commits, and a file
-- left behind by a crash in between is then an orphan, removed by the orphan sweep.
CREATE FUNCTION attachments_gc(p_unattached_ttl_s bigint, p_limit integer DEFAULT 1000)
RETURNS TABLE (storage_name text) LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  UPDATE attachments a SET deleted_at = now()
   WHERE a.deleted_at IS NULL
     AND ((a.message_id IS NOT NULL AND EXISTS (SELECT 1 FROM messages m
                                                 WHERE m.id = a.message_id AND m.deleted_at IS NOT NULL))
          OR (a.message_id IS NULL
              AND a.created_us < (extract(epoch FROM now()) * 1000000)::bigint - p_unattached_ttl_s * 1000000)
          OR a.state = 'rejected');
  RETURN QUERY
  WITH gone AS (
    DELETE FROM attachments a WHERE a.id IN (
      SELECT id FROM attachments WHERE deleted_at IS NOT NULL ORDER BY id LIMIT p_limit)
    RETURNING a.storage_name)
  SELECT g.storage_name FROM gone g;
END $$;

-- Whether a storage name still has a row (the orphan sweep asks before unlinking).
CREATE FUNCTION attachment_exists(p_storage_name text) RETURNS boolean LANGUAGE sql STABLE
  SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM attachments WHERE storage_name = p_storage_name)
$$;

-- New functions are executable by PUBLIC until revoked (0001 revoked only the ones it made).
REVOKE EXECUTE ON FUNCTION attachments_gc(bigint, integer), attachment_exists(text), attachment_json(attachments),
  message_attachments(bigint),
  attachment_insert(bigint, bigint, bigint, text, text, text, bigint, text, bigint, text, bytea, bytea, text, bigint,
                    text, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attachments_gc(bigint, integer), attachment_exists(text) TO redoubt_worker;
GRANT EXECUTE ON FUNCTION attachment_json(attachments), message_attachments(bigint) TO redoubt_app;
GRANT EXECUTE ON FUNCTION attachment_insert(bigint, bigint, bigint, text, text, text, bigint, text, bigint, text,
                                            bytea, bytea, text, bigint, text, boolean, boolean) TO redoubt_app;
GRANT SELECT, INSERT, UPDATE (message_id, key_id, wrapped_key, deleted_at), DELETE ON attachments TO redoubt_app;
GRANT USAGE ON SEQUENCE attachments_id_seq TO redoubt_app;
-- The worker's thumbnail and scan jobs read one row and record their result.
GRANT SELECT (id, room_id, storage_name, content_type, size, key_id, wrapped_key, state, deleted_at)
  ON attachments TO redoubt_worker;
GRANT UPDATE (thumbnail, state) ON attachments TO redoubt_worker;
