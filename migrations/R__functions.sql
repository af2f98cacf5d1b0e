-- Repeatable migration: SQL functions that change over time, each defined once, here, in its
-- current form. The runner (src/storage/migrations.cpp) applies this file after the numbered
-- migrations whenever its SHA-256 differs from the one recorded in schema_migrations, in one
-- transaction with the new checksum. So everything here must be safe to run again:
-- CREATE OR REPLACE FUNCTION, and REVOKE/GRANT for each function (a new function is executable
-- by PUBLIC). A change of arguments or result type needs a DROP FUNCTION IF EXISTS of the old
-- signature first; the server compares only the numbered version, so a change the code relies
-- on also needs a numbered migration (see migrations/README.md).

-- Group commit: posts a batch of messages in one statement, idempotently. Each input row gets
-- a status instead of an exception, so that one bad message never aborts the batch:
--   ok | duplicate | not_member | bad_reply | bad_attachment | client_id_reused
-- Rows are numbered by array position (ord, from 1). Each room's new messages take
-- consecutive seqs in input order. p_attachments[i] is a space-separated list of attachment
-- ids; each must be the author's, in the same room, ready and not yet attached, otherwise the
-- post is refused as 'bad_attachment' and nothing is written for it.
CREATE OR REPLACE FUNCTION post_batch(p_rooms bigint[], p_authors bigint[], p_client_ids text[],
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

REVOKE EXECUTE ON FUNCTION post_batch(bigint[], bigint[], text[], text[], bigint[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION post_batch(bigint[], bigint[], text[], text[], bigint[], text[], text[]) TO redoubt_app;
