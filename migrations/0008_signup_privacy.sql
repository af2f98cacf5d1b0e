-- Sign-up does not tell whether an address already has an account (issue 12 point 9): a
-- sign-up with an address in use creates the account like any other, and the address's owner
-- is mailed instead of the new account (job `signup_existing_email`). So an address may be on
-- several accounts; it is unique among verified addresses, and only the first account with an
-- address is ever sent a verification link.
DROP INDEX users_email_key;
CREATE INDEX users_email_idx ON users (lower(email));
CREATE UNIQUE INDEX users_verified_email_key ON users (lower(email)) WHERE email_verified;
