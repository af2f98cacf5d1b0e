-- Redoubt schema v4: per-room message retention (off by default).
-- A room with retention_days set has the content of older messages erased by the worker's
-- periodic "retention" job: body emptied, reactions and mentions removed, the row kept as a
-- tombstone so that per-room sequences (and resume) stay gapless.

ALTER TABLE rooms ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 36500);

-- The worker may not write messages; this function, owned by redoubt_owner, is the one
-- exception and does only this. Bounded per call; the job runs again while work remains.
CREATE FUNCTION apply_retention(p_limit integer DEFAULT 10000)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH old AS (
    SELECT m.id FROM messages m JOIN rooms r ON r.id = m.room_id
     WHERE r.retention_days IS NOT NULL
       AND m.created_at < now() - make_interval(days => r.retention_days)
       AND (m.body <> '' OR m.deleted_at IS NULL)
     ORDER BY m.id LIMIT p_limit FOR UPDATE OF m),
  gone_reactions AS (DELETE FROM reactions WHERE message_id IN (SELECT id FROM old)),
  gone_mentions AS (DELETE FROM mentions WHERE message_id IN (SELECT id FROM old)),
  erased AS (UPDATE messages SET body = '', deleted_at = coalesce(deleted_at, now())
              WHERE id IN (SELECT id FROM old) RETURNING 1)
  SELECT count(*) FROM erased
$$;
REVOKE EXECUTE ON FUNCTION apply_retention(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION apply_retention(integer) TO redoubt_worker;
