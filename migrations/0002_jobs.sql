-- Redoubt schema v2: background jobs through a transactional outbox, email tokens, email
-- deliveries and the email provider's webhook.
--
-- A job is an outbox row written in the same transaction as the change that causes it.
-- redoubt-server relays rows to NATS JetStream (Nats-Msg-Id = id) and marks them published;
-- rows not completed by the worker in time are published again. The worker records every job
-- id it has finished in processed_jobs (its idempotency record) and completes the outbox row.

CREATE TABLE outbox (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind            text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
  payload         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (length(payload::text) <= 4096),
  correlation_id  text NOT NULL CHECK (length(correlation_id) BETWEEN 1 AND 64),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL DEFAULT now() + interval '1 day',
  claimed_until   timestamptz,          -- a relay is publishing it until then
  published_at    timestamptz,
  publish_count   integer NOT NULL DEFAULT 0,
  completed_at    timestamptz           -- set by the worker with its processed_jobs row
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE completed_at IS NULL;

CREATE TABLE processed_jobs (
  job_id          uuid PRIMARY KEY,
  kind            text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('done', 'skipped', 'dead_lettered')),
  correlation_id  text NOT NULL DEFAULT '',
  processed_at    timestamptz NOT NULL DEFAULT now()
);

-- Single-use tokens mailed to users: only their SHA-256 is stored.
CREATE TABLE email_tokens (
  token_hash  text PRIMARY KEY,
  purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  job_id      uuid NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);

-- One row per email handed to the provider; the correlation id ties it to the request.
CREATE TABLE email_deliveries (
  id                   bigserial PRIMARY KEY,
  job_id               uuid NOT NULL,
  user_id              bigint REFERENCES users(id) ON DELETE SET NULL,
  recipient            text NOT NULL,
  kind                 text NOT NULL,
  provider             text NOT NULL,
  provider_message_id  text NOT NULL DEFAULT '',
  status               text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'delivered', 'bounced')),
  correlation_id       text NOT NULL DEFAULT '',
  created_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id)
);

-- Webhook events already accepted (replay protection inside the signature window).
CREATE TABLE webhook_events (
  event_id     text PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 128),
  received_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE users ADD COLUMN email_undeliverable boolean NOT NULL DEFAULT false;

-- The app writes outbox rows and relays them; it consumes tokens the worker created.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO redoubt_app;
GRANT SELECT, UPDATE ON email_tokens TO redoubt_app;
GRANT SELECT, UPDATE (status) ON email_deliveries TO redoubt_app;
GRANT SELECT, INSERT, DELETE ON webhook_events TO redoubt_app;
GRANT SELECT ON processed_jobs TO redoubt_app;

-- The worker records its work; it reads outbox ids only to complete them.
GRANT SELECT (id, completed_at) ON outbox TO redoubt_worker;
GRANT UPDATE (completed_at) ON outbox TO redoubt_worker;
GRANT SELECT, INSERT ON processed_jobs TO redoubt_worker;
GRANT SELECT, INSERT ON email_tokens TO redoubt_worker;
GRANT SELECT, INSERT ON email_deliveries TO redoubt_worker;
GRANT USAGE ON SEQUENCE email_deliveries_id_seq TO redoubt_worker;
GRANT SELECT (email_undeliverable) ON users TO redoubt_worker;
