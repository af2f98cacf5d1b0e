-- Redoubt schema v3: email notification of unread mentions and direct messages.
--
-- A mention or a direct message queues (in the same transaction, by trigger) one
-- "notify_unread" job per recipient, due after a delay (database setting
-- redoubt.notify_delay_seconds, default 900). While such a job is pending no other is queued
-- for that user, so one email covers everything that arrived meanwhile. The worker checks,
-- just before sending, what is still unread and not yet notified.

ALTER TABLE outbox ADD COLUMN not_before timestamptz NOT NULL DEFAULT now();
DROP INDEX outbox_pending_idx;
CREATE INDEX outbox_pending_idx ON outbox (not_before) WHERE completed_at IS NULL;
-- At most one pending notification job per user.
CREATE UNIQUE INDEX outbox_one_pending_notify ON outbox ((payload->>'user_id'))
  WHERE kind = 'notify_unread' AND completed_at IS NULL;

CREATE TABLE notification_state (
  user_id           bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  notified_through  timestamptz NOT NULL  -- messages up to this time were in an email
);

CREATE FUNCTION notify_delay() RETURNS interval LANGUAGE sql STABLE AS $$
  SELECT make_interval(secs => coalesce(nullif(current_setting('redoubt.notify_delay_seconds', true), '')::int, 900))
$$;

CREATE FUNCTION queue_unread_notifications(p_users bigint[], p_correlation text)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox (kind, payload, correlation_id, not_before, expires_at)
  SELECT 'notify_unread', jsonb_build_object('user_id', u), p_correlation, now() + notify_delay(),
         now() + notify_delay() + interval '1 day'
    FROM (SELECT DISTINCT unnest(p_users) AS u) x
  ON CONFLICT ((payload->>'user_id')) WHERE kind = 'notify_unread' AND completed_at IS NULL DO NOTHING
$$;

-- Statement-level triggers: one set-based insert per group commit, not one per message.
CREATE FUNCTION mentions_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM queue_unread_notifications(ARRAY(SELECT user_id FROM new_mentions), 'mention');
  RETURN NULL;
END $$;
CREATE TRIGGER mentions_notify_trg AFTER INSERT ON mentions
  REFERENCING NEW TABLE AS new_mentions FOR EACH STATEMENT EXECUTE FUNCTION mentions_notify();

CREATE FUNCTION direct_messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM queue_unread_notifications(ARRAY(
    SELECT rm.user_id FROM new_messages m
      JOIN rooms r ON r.id = m.room_id AND r.kind = 'direct'
      JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id <> m.author_id), 'direct_message');
  RETURN NULL;
END $$;
CREATE TRIGGER messages_notify_trg AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT EXECUTE FUNCTION direct_messages_notify();

GRANT EXECUTE ON FUNCTION notify_delay(), queue_unread_notifications(bigint[], text),
  mentions_notify(), direct_messages_notify() TO redoubt_app;
GRANT SELECT, INSERT, UPDATE ON notification_state TO redoubt_worker;
