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

-- post_batch gains attachments: p_attachments[i] is a space-separated list of attachment ids.
-- Each must be the author's, in the same room, ready and not yet attached; otherwise the post
-- is refused as 'bad_attachment' and nothing is written for it.
DROP FUNCTION post_batch(bigint[], bigint[], text[], text[], bigint[], text[]);
CREATE FUNCTION post_batch(p_rooms bigint[], p_authors bigint[], p_client_ids text[],
                           p_bodies text[], p_reply_tos bigint[], p_mentions text[], p_attachments text[])
RETURNS TABLE (ord int, status text, message_id bigint, seq bigint, created_at text, mentioned text,
               attachments text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  -- Retries of one (author, client_id) in concurrent batches wait for each other. Keys and
  -- rooms are locked in sorted order so that concurrent batches cannot deadlock. The room
  -- lock also serializes two posts that name the same attachment.
  PERFORM pg_advisory_xact_lock(k)
     FROM (SELECT DISTINCT hashtextextended(a::text || ':' || c, 0) AS k
             FROM unnest(p_authors, p_client_ids) AS t(a, c) ORDER BY 1) keys;
  PERFORM 1 FROM rooms WHERE id IN (SELECT unnest(p_rooms)) ORDER BY id FOR UPDATE;
  RETURN QUERY
  WITH input AS (
    SELECT i AS ord, p_rooms[i] AS room, p_authors[i] AS author, p_client_ids[i] AS cid,
           p_bodies[i] AS body, p_reply_tos[i] AS reply_to, coalesce(p_mentions[i], '') AS names,
           coalesce(string_to_array(nullif(p_attachments[i], ''), ' ')::bigint[], '{}') AS files
      FROM generate_subscripts(p_rooms, 1) AS i),
  existing AS (
    SELECT m.author_id, m.client_id, m.id, m.room_id, m.seq, m.created_at
      FROM messages m JOIN input ON m.author_id = input.author AND m.client_id = input.cid
     GROUP BY m.id),
  files_ok AS (
    SELECT input.ord,
           NOT EXISTS (SELECT 1 FROM unnest(input.files) f(id)
                        WHERE NOT EXISTS (SELECT 1 FROM attachments a
                                           WHERE a.id = f.id AND a.uploader_id = input.author
                                             AND a.room_id = input.room AND a.message_id IS NULL
                                             AND a.state = 'ready' AND a.deleted_at IS NULL))
           AND cardinality(input.files) = (SELECT count(DISTINCT f) FROM unnest(input.files) f) AS ok
      FROM input),
  valid AS (
    SELECT DISTINCT ON (input.author, input.cid) input.*
      FROM input JOIN files_ok fo ON fo.ord = input.ord
     WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.author_id = input.author AND e.client_id = input.cid)
       AND EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = input.room AND rm.user_id = input.author)
       AND (input.reply_to IS NULL OR EXISTS (
             SELECT 1 FROM messages r WHERE r.id = input.reply_to AND r.room_id = input.room AND r.deleted_at IS NULL))
       AND fo.ok
     ORDER BY input.author, input.cid, input.ord),
  numbered AS (
    SELECT v.*, row_number() OVER (PARTITION BY v.room ORDER BY v.ord) AS rn FROM valid v),
  counts AS (SELECT nb.room, count(*) AS n FROM numbered nb GROUP BY nb.room),
  bumped AS (
    UPDATE rooms r SET last_seq = r.last_seq + c.n FROM counts c WHERE r.id = c.room
    RETURNING r.id, r.last_seq - c.n AS base),
  inserted AS (
    INSERT INTO messages (room_id, seq, author_id, client_id, body, reply_to)
    SELECT nb.room, b.base + nb.rn, nb.author, nb.cid, nb.body, nb.reply_to
      FROM numbered nb JOIN bumped b ON b.id = nb.room
    RETURNING messages.id, messages.room_id, messages.seq, messages.author_id, messages.client_id,
              messages.created_at),
  linked AS (
    UPDATE attachments a SET message_id = ins.id
      FROM inserted ins JOIN numbered nb ON nb.author = ins.author_id AND nb.cid = ins.client_id
     WHERE a.id = ANY (nb.files)
    RETURNING a.*),
  linked_json AS (
    -- (this statement's snapshot still shows the rows unattached: set message_id here)
    SELECT l.message_id,
           jsonb_agg(attachment_json(a) || jsonb_build_object('message_id', l.message_id) ORDER BY a.id)::text AS list
      FROM linked l JOIN attachments a ON a.id = l.id GROUP BY l.message_id),
  mentioned_rows AS (
    INSERT INTO mentions (message_id, user_id)
    SELECT DISTINCT ins.id, u.id
      FROM inserted ins
      JOIN numbered nb ON nb.author = ins.author_id AND nb.cid = ins.client_id
      JOIN users u ON u.username = ANY (string_to_array(nb.names, ' '))
      JOIN room_members rm ON rm.room_id = ins.room_id AND rm.user_id = u.id
     WHERE nb.names <> ''
    RETURNING mentions.message_id, mentions.user_id),
  mention_names AS (
    SELECT mr.message_id, string_agg(u.username, ' ' ORDER BY u.username) AS names
      FROM mentioned_rows mr JOIN users u ON u.id = mr.user_id GROUP BY mr.message_id)
  SELECT input.ord::int,
         CASE
           WHEN e.id IS NOT NULL THEN
             CASE WHEN e.room_id = input.room THEN 'duplicate' ELSE 'client_id_reused' END
           WHEN ins.id IS NOT NULL THEN
             CASE WHEN nb.ord = input.ord THEN 'ok'
                  WHEN ins.room_id = input.room THEN 'duplicate'
                  ELSE 'client_id_reused' END
           WHEN NOT EXISTS (SELECT 1 FROM room_members rm
                             WHERE rm.room_id = input.room AND rm.user_id = input.author) THEN 'not_member'
           WHEN NOT fo.ok THEN 'bad_attachment'
           ELSE 'bad_reply'
         END,
         coalesce(e.id, ins.id), coalesce(e.seq, ins.seq), iso(coalesce(e.created_at, ins.created_at)),
         coalesce(mn.names, ''),
         coalesce(lj.list, '[]')
    FROM input
    JOIN files_ok fo ON fo.ord = input.ord
    LEFT JOIN existing e ON e.author_id = input.author AND e.client_id = input.cid
    LEFT JOIN inserted ins ON ins.author_id = input.author AND ins.client_id = input.cid
    LEFT JOIN numbered nb ON nb.author = input.author AND nb.cid = input.cid
    LEFT JOIN mention_names mn ON mn.message_id = ins.id AND nb.ord = input.ord
    LEFT JOIN linked_json lj ON lj.message_id = ins.id AND nb.ord = input.ord
   ORDER BY input.ord;
END $$;

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
                    text, boolean, boolean),
  post_batch(bigint[], bigint[], text[], text[], bigint[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attachments_gc(bigint, integer), attachment_exists(text) TO redoubt_worker;
GRANT EXECUTE ON FUNCTION attachment_json(attachments), message_attachments(bigint) TO redoubt_app;
GRANT EXECUTE ON FUNCTION attachment_insert(bigint, bigint, bigint, text, text, text, bigint, text, bigint, text,
                                            bytea, bytea, text, bigint, text, boolean, boolean),
  post_batch(bigint[], bigint[], text[], text[], bigint[], text[], text[]) TO redoubt_app;
GRANT SELECT, INSERT, UPDATE (message_id, key_id, wrapped_key, deleted_at), DELETE ON attachments TO redoubt_app;
GRANT USAGE ON SEQUENCE attachments_id_seq TO redoubt_app;
-- The worker's thumbnail and scan jobs read one row and record their result.
GRANT SELECT (id, room_id, storage_name, content_type, size, key_id, wrapped_key, state, deleted_at)
  ON attachments TO redoubt_worker;
GRANT UPDATE (thumbnail, state) ON attachments TO redoubt_worker;
