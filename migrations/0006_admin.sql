-- Redoubt schema v6: what the administration page reads.
--
-- The app role may only INSERT into audit_log; administrators read it through these two
-- SECURITY DEFINER functions (a page at a time, and the chain check), never by SELECT.

-- Recomputes the whole hash chain (must match audit_chain() in 0001): rows checked, rows
-- that do not verify, the first of them. redoubtctl audit verify uses it too.
CREATE FUNCTION audit_chain_status()
RETURNS TABLE (checked bigint, bad bigint, first_bad_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH c AS (
    SELECT id, hash, prev_hash, lag(hash, 1, '') OVER (ORDER BY id) AS expected_prev,
           encode(sha256(convert_to(concat_ws('|', id, iso(at), actor_id, action, target, ip, request_id,
                                              outcome, details::text, prev_hash), 'UTF8')), 'hex') AS recomputed
      FROM audit_log)
  SELECT count(*),
         count(*) FILTER (WHERE hash <> recomputed OR prev_hash <> expected_prev),
         min(id) FILTER (WHERE hash <> recomputed OR prev_hash <> expected_prev)
    FROM c
$$;

-- Newest first, ids below p_before (0 = from the newest), at most p_limit (1..200).
CREATE FUNCTION audit_page(p_before bigint, p_limit integer)
RETURNS TABLE (id bigint, at text, actor_id bigint, actor text, action text, target text, ip text,
               request_id text, outcome text, details text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT a.id, iso(a.at), a.actor_id, coalesce(u.username, ''), a.action, a.target, a.ip, a.request_id,
         a.outcome, a.details::text
    FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
   WHERE p_before = 0 OR a.id < p_before
   ORDER BY a.id DESC
   LIMIT least(greatest(p_limit, 1), 200)
$$;

REVOKE EXECUTE ON FUNCTION audit_chain_status(), audit_page(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_chain_status(), audit_page(bigint, integer) TO redoubt_app;
