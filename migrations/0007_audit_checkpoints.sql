-- Redoubt schema v7: signed checkpoints of the audit log.
--
-- The hash chain shows that rows were changed, unless whoever changed them recomputed every
-- hash after them (anyone able to UPDATE the table can). A checkpoint is the server's
-- Ed25519 signature over (row id, row hash, time) of the chain's newest row, made with a key
-- that lives in a file, not in the database: a rewritten chain no longer matches the hash a
-- checkpoint signed, and a truncated one loses the row it names. The server adds one every
-- [jobs] audit_checkpoint_interval_s; `redoubtctl audit verify` checks them all.

CREATE TABLE audit_checkpoints (
  id          bigserial PRIMARY KEY,
  audit_id    bigint NOT NULL UNIQUE,  -- one checkpoint per chain head, whichever node signs first
  audit_hash  text NOT NULL CHECK (audit_hash ~ '^[0-9a-f]{64}$'),
  signed_at   text NOT NULL,           -- exactly the text that was signed
  key_id      text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
  signature   text NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$')
);

-- What the server signs: the chain's newest row and the database's clock, as text.
CREATE FUNCTION audit_head()
RETURNS TABLE (audit_id bigint, audit_hash text, signed_at text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id, hash, iso(clock_timestamp()) FROM audit_log ORDER BY id DESC LIMIT 1
$$;

-- Stores a checkpoint only if it names a row that exists with exactly that hash; a head that
-- already has one is left alone. True when a row was added.
CREATE FUNCTION add_audit_checkpoint(p_audit_id bigint, p_audit_hash text, p_signed_at text, p_key_id text,
                                     p_signature text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  added integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_log WHERE id = p_audit_id AND hash = p_audit_hash) THEN
    RAISE EXCEPTION 'checkpoint does not match the audit log' USING ERRCODE = '22023';
  END IF;
  INSERT INTO audit_checkpoints (audit_id, audit_hash, signed_at, key_id, signature)
  VALUES (p_audit_id, p_audit_hash, p_signed_at, p_key_id, p_signature)
  ON CONFLICT (audit_id) DO NOTHING;
  GET DIAGNOSTICS added = ROW_COUNT;
  RETURN added > 0;
END $$;

-- The newest checkpoint and the hash its row has now (NULL when the row is gone), for the
-- administration page; the server checks the signature with its own key.
CREATE FUNCTION audit_newest_checkpoint()
RETURNS TABLE (audit_id bigint, audit_hash text, signed_at text, key_id text, signature text, row_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.audit_id, c.audit_hash, c.signed_at, c.key_id, c.signature, a.hash
    FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.audit_id
   ORDER BY c.audit_id DESC LIMIT 1
$$;

-- The app role neither reads nor changes checkpoints directly; it only calls these three.
REVOKE ALL ON audit_checkpoints FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_head(), add_audit_checkpoint(bigint, text, text, text, text),
  audit_newest_checkpoint() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_head(), add_audit_checkpoint(bigint, text, text, text, text),
  audit_newest_checkpoint() TO redoubt_app;
